using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

public sealed class DiskResponseStoreTests : IDisposable
{
    private const string Key = "scope|registration";

    private readonly StoreTestDirectory _directory = new(nameof(DiskResponseStoreTests));
    private readonly DiskResponseStore _store;

    public DiskResponseStoreTests() => _store = new DiskResponseStore(_directory.Root);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task WriteAsync_ManyChunks_ReadsBackByteExactWithSha256()
    {
        const int length = 1_000_003;
        string digest;
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            // 7,919 is prime: chunks straddle the 64 KiB file buffer at every alignment.
            await CopyAsync(new GeneratedStream(length), writer, 7_919);
            Assert.Equal(length, writer.Length);
            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(GeneratedStream.Bytes(0, length), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task CompleteAsync_EmptyBody_ReturnsSha256OfNothing()
    {
        await using var writer = await _store.OpenWriterAsync(Key, 0, 0);

        Assert.Equal(ExpectedSha256(0), await writer.CompleteAsync());
        await using var body = await _store.OpenReadAsync(Key, 0);
        Assert.Equal(0, body!.Length);
    }

    [Fact]
    public async Task CompleteAsync_Twice_ReturnsTheSameDigestAndRefusesFurtherWrites()
    {
        await using var writer = await _store.OpenWriterAsync(Key, 0, 0);
        await writer.WriteAsync(GeneratedStream.Bytes(0, 100));

        var first = await writer.CompleteAsync();

        Assert.Equal(first, await writer.CompleteAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task OpenWriterAsync_ResumeAfterReopen_GivesSameSha256AsUninterruptedWrite()
    {
        const int length = 300_000;
        const long checkpoint = 123_457;
        await using (var first = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(first, 0, checkpoint, 10_000);
            await first.FlushToDiskAsync();
        }

        string digest;
        await using (var resumed = await _store.OpenWriterAsync(Key, 0, checkpoint))
        {
            Assert.Equal(checkpoint, resumed.Length);
            await WriteGeneratedAsync(resumed, checkpoint, length, 10_000);
            digest = await resumed.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(GeneratedStream.Bytes(0, length), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_FileLongerThanOffset_TruncatesToOffset()
    {
        // A crash after writing 90,000 bytes but journaling a checkpoint at 50,000.
        await using (var crashed = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(crashed, 0, 90_000, 4_096, seed: 99);
        }

        await using (var resumed = await _store.OpenWriterAsync(Key, 0, 50_000))
        {
            Assert.Equal(50_000, resumed.Length);
            await using (var midway = await _store.OpenReadAsync(Key, 0))
            {
                Assert.Equal(50_000, midway!.Length);
            }

            await resumed.CompleteAsync();
        }

        Assert.Equal(GeneratedStream.Bytes(0, 50_000, seed: 99), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_ZeroOffsetOverExistingBody_StartsFresh()
    {
        await using (var old = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(old, 0, 5_000, 1_000, seed: 1);
            await old.CompleteAsync();
        }

        string digest;
        await using (var fresh = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(fresh, 0, 2_000, 1_000, seed: 2);
            digest = await fresh.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(2_000, seed: 2), digest);
        Assert.Equal(GeneratedStream.Bytes(0, 2_000, seed: 2), await ReadBodyAsync(_store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_OffsetBeyondStoredLength_ThrowsMissingPrefix()
    {
        await using (var writer = await _store.OpenWriterAsync(Key, 3, 0))
        {
            await WriteGeneratedAsync(writer, 0, 1_000, 1_000);
        }

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => _store.OpenWriterAsync(Key, 3, 1_001));

        Assert.Equal(ResponseStoreFailure.MissingPrefix, error.Failure);
        Assert.Equal(3, error.RecordIndex);
        await using (var kept = await _store.OpenReadAsync(Key, 3))
        {
            Assert.Equal(1_000, kept!.Length);
        }

        // The failed open released the record: restarting from 0 works.
        await using var restarted = await _store.OpenWriterAsync(Key, 3, 0);
        Assert.Equal(0, restarted.Length);
    }

    [Fact]
    public async Task OpenWriterAsync_OffsetWithoutStoredBody_ThrowsMissingPrefixAndCreatesNothing()
    {
        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => _store.OpenWriterAsync(Key, 0, 10));

        Assert.Equal(ResponseStoreFailure.MissingPrefix, error.Failure);
        Assert.Null(await _store.OpenReadAsync(Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_RecordAlreadyOpen_ThrowsWriterAlreadyOpenUntilDisposed()
    {
        var first = await _store.OpenWriterAsync(Key, 0, 0);

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => _store.OpenWriterAsync(Key, 0, 0));
        Assert.Equal(ResponseStoreFailure.WriterAlreadyOpen, error.Failure);

        await first.DisposeAsync();
        await using var second = await _store.OpenWriterAsync(Key, 0, 0);
        Assert.Equal(0, second.Length);
    }

    [Fact]
    public async Task OpenReadAsync_NoBody_ReturnsNull()
    {
        Assert.Null(await _store.OpenReadAsync("never written", 0));
    }

    [Fact]
    public async Task OpenReadAsync_SeekIntoContent_ReadsTheSliceFromThere()
    {
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 200_000, 65_536);
            await writer.CompleteAsync();
        }

        await using var body = await _store.OpenReadAsync(Key, 0);

        Assert.Equal(200_000, body!.Length);
        Assert.True(body.Content.CanSeek);
        body.Content.Seek(150_001, SeekOrigin.Begin);
        var slice = new byte[1_000];
        await body.Content.ReadExactlyAsync(slice);
        Assert.Equal(GeneratedStream.Bytes(150_001, 1_000), slice);
    }

    [Fact]
    public async Task OpenRange_InclusiveByteRange_ReadsExactlyThatRange()
    {
        await using (var writer = await _store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 100_000, 30_000);
            await writer.CompleteAsync();
        }

        await using var body = await _store.OpenReadAsync(Key, 0);

        Assert.Equal(GeneratedStream.Bytes(70_000, 20_000), await ReadToEndAsync(body!.OpenRange(70_000, 89_999)));
        Assert.Equal(GeneratedStream.Bytes(99_999, 1), await ReadToEndAsync(body.OpenRange(99_999, 99_999)));
        Assert.Throws<ArgumentOutOfRangeException>(() => body.OpenRange(0, 100_000));
    }

    [Fact]
    public async Task WriteAsync_DifferentRecordsOfOneRegistrationConcurrently_DoNotInterfere()
    {
        const int records = 4;
        const int length = 250_000;

        var digests = await Task.WhenAll(Enumerable.Range(0, records).Select(async record =>
        {
            await using var writer = await _store.OpenWriterAsync(Key, record, 0);
            for (var position = 0; position < length; position += 5_000)
            {
                await writer.WriteAsync(GeneratedStream.Bytes(position, 5_000, seed: record));
                // Interleave the writers' turns rather than letting each run to completion.
                await Task.Yield();
            }

            return await writer.CompleteAsync();
        }));

        for (var record = 0; record < records; record++)
        {
            Assert.Equal(ExpectedSha256(length, seed: record), digests[record]);
            Assert.Equal(GeneratedStream.Bytes(0, length, seed: record), await ReadBodyAsync(_store, Key, record));
        }
    }
}
