using BgFetchCluster.Actors.Fetch.Storage;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>The response store contract on files, each test in a fresh directory; layout and O_DIRECT tests live beside it.</summary>
public sealed class DiskResponseStoreTests : ResponseStoreContractTests, IDisposable
{
    private readonly StoreTestDirectory _directory = new(nameof(DiskResponseStoreTests));

    // The FileStream's buffer, or in direct mode the chunks still on their way to the device.
    protected override long MaxUnstoredBytes => 4L * DirectIo.ChunkSize;

    public void Dispose() => _directory.Dispose();

    protected override IResponseStore CreateStore() => new DiskResponseStore(_directory.Root);
}
