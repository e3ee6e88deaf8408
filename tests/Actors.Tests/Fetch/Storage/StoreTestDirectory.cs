namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>A fresh temporary directory for one test, deleted with everything in it afterwards.</summary>
public sealed class StoreTestDirectory : IDisposable
{
    public StoreTestDirectory(string owner)
    {
        Root = Path.Combine(Path.GetTempPath(), $"bgfetch-{owner}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
