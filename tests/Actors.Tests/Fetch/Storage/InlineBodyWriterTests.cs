using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>The inline writer in front of a real <see cref="DiskResponseStore"/>: when a body stays in memory, when it moves to a file.</summary>
public sealed class InlineBodyWriterTests : IDisposable
{
    private const string Key = "scope|inline";
    private const int Limit = 4096;

    private readonly StoreTestDirectory _directory = new(nameof(InlineBodyWriterTests));
    private readonly DiskResponseStore _store;

    public InlineBodyWriterTests() => _store = new DiskResponseStore(_directory.Root);

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Limit)]
    public async Task CompleteAsync_BodyWithinTheLimit_KeepsItInMemoryAndStoresNoFile(int length)
    {
        await using var writer = Inline();
        await WriteGeneratedAsync(writer, 0, length, chunkSize: 1000);

        Assert.Equal(ExpectedSha256(length), await writer.CompleteAsync());
        Assert.False(writer.Spilled);
        Assert.Equal(GeneratedStream.Bytes(0, length), writer.CopyInlineBody());
        Assert.Equal(length, writer.Length);
        Assert.Empty(Directory.GetFiles(_directory.Root, "*", SearchOption.AllDirectories));
        Assert.Null(await _store.OpenReadAsync(Key, 0));
    }

    [Fact]
    public async Task WriteAsync_BodyOutgrowsTheLimit_MovesToTheStoreWithEveryByteAndTheWholeDigest()
    {
        const int length = 3 * Limit + 17;
        await using (var writer = Inline())
        {
            // 1,000-byte chunks: the one that crosses the limit arrives with bytes already buffered.
            await WriteGeneratedAsync(writer, 0, length, chunkSize: 1000);
            Assert.True(writer.Spilled);
            Assert.Equal(length, writer.Length);
            Assert.Equal(ExpectedSha256(length), await writer.CompleteAsync());
            Assert.Null(writer.CopyInlineBody());
        }

        Assert.Equal(GeneratedStream.Bytes(0, length), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task FlushToDiskAsync_SmallBody_MovesItToTheStoreSoACheckpointCanResumeThere()
    {
        const int checkpoint = 1500;
        await using (var writer = Inline())
        {
            await WriteGeneratedAsync(writer, 0, checkpoint, chunkSize: 500);
            await writer.FlushToDiskAsync();
            Assert.True(writer.Spilled);
            Assert.Equal(checkpoint, writer.Length);
        }

        // A resume after a crash opens the store's writer at the checkpoint: the prefix must be there.
        await using (var resumed = await _store.OpenWriterAsync(Key, 0, checkpoint))
        {
            await WriteGeneratedAsync(resumed, checkpoint, 2000, chunkSize: 500);
            Assert.Equal(ExpectedSha256(2000), await resumed.CompleteAsync());
        }

        Assert.Equal(GeneratedStream.Bytes(0, 2000), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task CopyInlineBody_BeforeCompletion_GivesWhatArrivedSoFar()
    {
        await using var writer = Inline();
        await WriteGeneratedAsync(writer, 0, 700, chunkSize: 300);

        Assert.Equal(GeneratedStream.Bytes(0, 700), writer.CopyInlineBody());
    }

    [Fact]
    public async Task CompleteAsync_Twice_ReturnsTheSameDigestAndRefusesFurtherWrites()
    {
        await using var writer = Inline();
        await writer.WriteAsync(GeneratedStream.Bytes(0, 100));

        var first = await writer.CompleteAsync();

        Assert.Equal(first, await writer.CompleteAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task SpillAsync_StoreRefusesToOpen_ReportsTheStoreErrorAndKeepsTheBufferedBytes()
    {
        var refusing = new InlineBodyWriter(Limit, _ => throw new ResponseStoreException(ResponseStoreFailure.DiskFull, Key, 0, "the disk is full"));
        await using var writer = refusing;
        await writer.WriteAsync(GeneratedStream.Bytes(0, 10));

        await Assert.ThrowsAsync<ResponseStoreException>(async () => await writer.WriteAsync(new byte[Limit]));
        Assert.False(writer.Spilled);
        Assert.Equal(GeneratedStream.Bytes(0, 10), writer.CopyInlineBody());
    }

    private InlineBodyWriter Inline() => new(Limit, cancellationToken => _store.OpenWriterAsync(Key, 0, 0, cancellationToken));
}
