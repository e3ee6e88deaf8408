namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>A directory for one test's node data, deleted afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bgfetch-node-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A killed node may still be releasing files; the temp folder is cleaned by the OS later.
        }
    }
}
