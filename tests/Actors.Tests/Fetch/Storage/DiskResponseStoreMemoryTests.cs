using System.Security.Cryptography;
using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>Runs alone, after the parallel tests, so other tests' allocations do not blur the measurement.</summary>
[CollectionDefinition(nameof(DiskResponseStoreMemoryTests), DisableParallelization = true)]
public sealed class MemoryMeasurementCollection;

[Collection(nameof(DiskResponseStoreMemoryTests))]
public sealed class DiskResponseStoreMemoryTests : IDisposable
{
    private const long BodyLength = 200L * 1024 * 1024;
    private const long AllowedGrowth = 8L * 1024 * 1024;

    private readonly StoreTestDirectory _directory = new(nameof(DiskResponseStoreMemoryTests));
    private readonly DiskResponseStore _store;

    public DiskResponseStoreMemoryTests() => _store = new DiskResponseStore(_directory.Root);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task WriteAsync_200MiBStreamedBody_KeepsManagedMemorySmall()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        string digest;
        long retainedWhileOpen;
        await using (var writer = await _store.OpenWriterAsync("big", 0, 0))
        {
            await CopyAsync(new GeneratedStream(BodyLength), writer, 81_920);
            digest = await writer.CompleteAsync();
            // Measured with the writer still open: anything it buffered would still be reachable.
            retainedWhileOpen = GC.GetTotalMemory(forceFullCollection: true) - before;
        }

        Assert.True(
            retainedWhileOpen < AllowedGrowth,
            $"Expected a streamed {BodyLength:N0}-byte write to retain under {AllowedGrowth:N0} bytes, but it retained {retainedWhileOpen:N0}.");
        Assert.Equal(ExpectedSha256(BodyLength), digest);

        await using var body = await _store.OpenReadAsync("big", 0);
        Assert.Equal(BodyLength, body!.Length);
        Assert.Equal(digest, Convert.ToHexStringLower(await SHA256.HashDataAsync(body.Content)));
    }
}
