using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>
/// Bodies large enough for the writer's direct mode (aligned chunks written behind the download, unaligned tails
/// through the page cache at every flush): bytes, digests, checkpoints and resumes must be exactly those of the
/// buffered mode. Where the file system refuses O_DIRECT the same paths run buffered, and must pass too.
/// </summary>
public sealed class DiskResponseStoreDirectTests : IDisposable
{
    private const string Key = "scope|large";
    private const long Large = DiskResponseBodyWriter.DirectAfterBytes + (3L * DirectIo.ChunkSize) + 12_345;

    private readonly StoreTestDirectory _directory = new(nameof(DiskResponseStoreDirectTests));
    private readonly DiskResponseStore _store;

    public DiskResponseStoreDirectTests() => _store = new DiskResponseStore(_directory.Root);

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(7_919)]
    [InlineData(262_144)]
    [InlineData(1_500_007)]
    public async Task WriteAsync_LargeBodyInChunksOfAnySize_ReadsBackByteExactWithSha256(int chunkSize)
    {
        string digest;
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await CopyAsync(new GeneratedStream(Large), writer, chunkSize);
            Assert.Equal(Large, writer.Length);
            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(Large), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)Large), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task CompleteAsync_BodyEndingExactlyOnAChunkBoundary_ReadsBackByteExactWithSha256()
    {
        const long length = DiskResponseBodyWriter.DirectAfterBytes + (2L * DirectIo.ChunkSize);
        string digest;
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await CopyAsync(new GeneratedStream(length), writer, 65_536);
            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)length), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task AdvanceAsync_ReadingIntoTheAppendBufferWithFlushesBetween_ReadsBackByteExactWithSha256()
    {
        // As RecordDownload does: its own buffer while the writer offers none, the writer's chunk once it does.
        var source = new GeneratedStream(Large);
        var own = new byte[100_003];
        long nextFlush = DiskResponseBodyWriter.DirectAfterBytes + 5;
        string digest;
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            while (true)
            {
                var direct = writer.GetAppendBuffer();
                var read = await source.ReadAsync(direct.IsEmpty ? own : direct[..Math.Min(direct.Length, 77_777)]);
                if (read == 0)
                {
                    break;
                }

                if (direct.IsEmpty)
                {
                    await writer.WriteAsync(own.AsMemory(0, read));
                }
                else
                {
                    await writer.AdvanceAsync(read);
                }

                if (writer.Length >= nextFlush)
                {
                    await writer.FlushToDiskAsync();
                    nextFlush += DirectIo.ChunkSize + 1_001;
                }
            }

            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(Large), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)Large), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task AdvanceAsync_MoreThanTheAppendBufferHeld_Throws()
    {
        await using var writer = await _store.OpenWriterAsync(Key, 0, 0);
        Assert.True(writer.GetAppendBuffer().IsEmpty);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await writer.AdvanceAsync(1));
    }

    [Fact]
    public async Task FlushToDiskAsync_AtUnalignedOffsetsInDirectMode_KeepsEveryByteAndTheDigest()
    {
        // Checkpoints at odd offsets: each writes a partial block through the page cache, which the next chunk rewrites.
        long[] flushes = [DiskResponseBodyWriter.DirectAfterBytes + 1, DiskResponseBodyWriter.DirectAfterBytes + 4_097, Large - 3];
        string digest;
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            long position = 0;
            foreach (var flushAt in flushes)
            {
                await WriteGeneratedAsync(writer, position, flushAt, 65_521);
                await writer.FlushToDiskAsync();
                position = flushAt;
                await using (var midway = await _store.OpenReadAsync(Key, 0))
                {
                    Assert.Equal(flushAt, midway!.Length);
                }
            }

            await WriteGeneratedAsync(writer, position, Large, 65_521);
            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(Large), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)Large), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_ResumeAtCheckpointAfterDirectWritesPastIt_GivesSameSha256AsUninterruptedWrite()
    {
        // A crash in direct mode: a checkpoint at an unaligned offset, then chunks written past it but never journaled.
        var checkpoint = DiskResponseBodyWriter.DirectAfterBytes + DirectIo.ChunkSize + 777;
        await using (var crashed = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(crashed, 0, checkpoint, 100_003);
            await crashed.FlushToDiskAsync();
            await WriteGeneratedAsync(crashed, checkpoint, checkpoint + (3L * DirectIo.ChunkSize), 100_003, seed: 5);
        }

        string digest;
        await using (var resumed = await _store.OpenWriterAsync(Key, 0, checkpoint))
        {
            Assert.Equal(checkpoint, resumed.Length);
            await WriteGeneratedAsync(resumed, checkpoint, Large, 100_003);
            digest = await resumed.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(Large), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)Large), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task WriteAsync_SeveralLargeBodiesConcurrently_DoNotInterfere()
    {
        const int records = 3;

        var digests = await Task.WhenAll(Enumerable.Range(0, records).Select(async record =>
        {
            await Task.Yield();
            await using var writer = await _store.OpenWriterAsync(Key, record, 0);
            await CopyAsync(new GeneratedStream(Large, seed: record), writer, 131_072 + record);
            return await writer.CompleteAsync();
        }));

        for (var record = 0; record < records; record++)
        {
            Assert.Equal(ExpectedSha256(Large, seed: record), digests[record]);
            Assert.Equal(GeneratedStream.Bytes(0, (int)Large, seed: record), await ReadBodyAsync(_store, Key, record));
        }
    }
}
