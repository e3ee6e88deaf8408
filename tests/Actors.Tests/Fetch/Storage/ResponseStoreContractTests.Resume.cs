using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>Checkpoints, resumes at an offset, and the one-writer rule.</summary>
public abstract partial class ResponseStoreContractTests
{
    [Fact]
    public async Task OpenWriterAsync_ResumeAfterReopen_GivesSameSha256AsUninterruptedWrite()
    {
        const int length = 300_000;
        const long checkpoint = 123_457;
        await using (var first = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(first, 0, checkpoint, 10_000);
            await first.FlushToDiskAsync();
        }

        string digest;
        await using (var resumed = await Store.OpenWriterAsync(Key, 0, checkpoint))
        {
            Assert.Equal(checkpoint, resumed.Length);
            await WriteGeneratedAsync(resumed, checkpoint, length, 10_000);
            digest = await resumed.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(GeneratedStream.Bytes(0, length), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_BodyLongerThanOffset_TruncatesToOffset()
    {
        // A crash after storing 90,000 bytes but journaling a checkpoint at 50,000.
        await using (var crashed = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(crashed, 0, 90_000, 4_096, seed: 99);
            await crashed.FlushToDiskAsync();
        }

        await using (var resumed = await Store.OpenWriterAsync(Key, 0, 50_000))
        {
            Assert.Equal(50_000, resumed.Length);
            await using (var midway = await Store.OpenReadAsync(Key, 0))
            {
                Assert.Equal(50_000, midway!.Length);
            }

            await resumed.CompleteAsync();
        }

        Assert.Equal(GeneratedStream.Bytes(0, 50_000, seed: 99), await ReadBodyAsync(Store, Key, 0));
    }

    [Theory]
    [InlineData(2L * MiB)]
    [InlineData((MiB * 3L / 2) + 1)]
    public async Task OpenWriterAsync_ResumeInAMultiChunkBody_CutsWhatFollowsAndRehashesThePrefix(long checkpoint)
    {
        // Stored past the checkpoint: whole chunks and the tail of the chunk holding it, in different bytes (seed 9).
        const long length = (3L * MiB) + 4_321;
        await using (var crashed = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(crashed, 0, checkpoint, 100_003);
            await crashed.FlushToDiskAsync();
            await WriteGeneratedAsync(crashed, checkpoint, length, 100_003, seed: 9);
            await crashed.FlushToDiskAsync();
        }

        string digest;
        await using (var resumed = await Store.OpenWriterAsync(Key, 0, checkpoint))
        {
            Assert.Equal(checkpoint, resumed.Length);
            Assert.Equal(checkpoint, await Store.GetStoredBytesAsync(Key));
            await WriteGeneratedAsync(resumed, checkpoint, length - 1_000, 65_536);
            digest = await resumed.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length - 1_000), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)(length - 1_000)), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task CompleteAsync_BodyEndingExactlyOnAChunkBoundary_ReadsBackByteExactWithSha256()
    {
        const long length = 3L * MiB;
        string digest;
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await CopyAsync(new GeneratedStream(length), writer, 65_536);
            Assert.Equal(length, writer.Length);
            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(length, await Store.GetStoredBytesAsync(Key));
        Assert.Equal(GeneratedStream.Bytes(0, (int)length), await ReadBodyAsync(Store, Key, 0));

        // Resuming exactly at the end of a full chunk, then at the very end of the body.
        await using (var resumed = await Store.OpenWriterAsync(Key, 0, 2L * MiB))
        {
            await WriteGeneratedAsync(resumed, 2L * MiB, length, MiB);
            Assert.Equal(digest, await resumed.CompleteAsync());
        }

        await using (var atEnd = await Store.OpenWriterAsync(Key, 0, length))
        {
            Assert.Equal(digest, await atEnd.CompleteAsync());
        }

        Assert.Equal(GeneratedStream.Bytes(0, (int)length), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task AdvanceAsync_ReadingIntoTheAppendBufferWithFlushesBetween_ReadsBackByteExactWithSha256()
    {
        // As RecordDownload does: its own buffer while the writer offers none, the writer's memory once it does.
        const long length = (2L * MiB) + 777;
        var source = new GeneratedStream(length);
        var own = new byte[100_003];
        long nextFlush = 300_001;
        string digest;
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
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
                    Assert.Equal(writer.Length, await Store.GetStoredBytesAsync(Key));
                    nextFlush += 400_009;
                }
            }

            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(GeneratedStream.Bytes(0, (int)length), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_ZeroOffsetOverExistingBody_StartsFresh()
    {
        await using (var old = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(old, 0, 5_000, 1_000, seed: 1);
            await old.CompleteAsync();
        }

        string digest;
        await using (var fresh = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(fresh, 0, 2_000, 1_000, seed: 2);
            digest = await fresh.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(2_000, seed: 2), digest);
        Assert.Equal(GeneratedStream.Bytes(0, 2_000, seed: 2), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_OffsetBeyondStoredLength_ThrowsMissingPrefix()
    {
        await using (var writer = await Store.OpenWriterAsync(Key, 3, 0))
        {
            await WriteGeneratedAsync(writer, 0, 1_000, 1_000);
            await writer.FlushToDiskAsync();
        }

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => Store.OpenWriterAsync(Key, 3, 1_001));

        Assert.Equal(ResponseStoreFailure.MissingPrefix, error.Failure);
        Assert.Equal(3, error.RecordIndex);
        await using (var kept = await Store.OpenReadAsync(Key, 3))
        {
            Assert.Equal(1_000, kept!.Length);
        }

        // The failed open released the record: restarting from 0 works.
        await using var restarted = await Store.OpenWriterAsync(Key, 3, 0);
        Assert.Equal(0, restarted.Length);
    }

    [Fact]
    public async Task OpenWriterAsync_OffsetWithoutStoredBody_ThrowsMissingPrefixAndCreatesNothing()
    {
        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => Store.OpenWriterAsync(Key, 0, 10));

        Assert.Equal(ResponseStoreFailure.MissingPrefix, error.Failure);
        Assert.Null(await Store.OpenReadAsync(Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_RecordAlreadyOpen_ThrowsWriterAlreadyOpenUntilDisposed()
    {
        var first = await Store.OpenWriterAsync(Key, 0, 0);

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => Store.OpenWriterAsync(Key, 0, 0));
        Assert.Equal(ResponseStoreFailure.WriterAlreadyOpen, error.Failure);

        await first.DisposeAsync();
        await using var second = await Store.OpenWriterAsync(Key, 0, 0);
        Assert.Equal(0, second.Length);
    }
}
