using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>
/// What every <see cref="IResponseStore"/> promises, run on each implementation through <see cref="CreateStore"/>.
/// Keys carry a suffix unique to the test, so implementations whose storage outlives a test (a schema per class) need
/// no cleanup between tests.
/// </summary>
public abstract partial class ResponseStoreContractTests : IAsyncLifetime
{
    /// <summary>A body size that is a whole number of chunks in every store (1 MiB chunks).</summary>
    protected const int MiB = 1024 * 1024;

    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    protected IResponseStore Store { get; private set; } = null!;

    /// <summary>The registration most tests write.</summary>
    protected string Key => KeyOf("registration");

    /// <summary>The most bytes a writer may have been handed that <see cref="IResponseStore.GetStoredBytesAsync"/> does not count yet.</summary>
    protected abstract long MaxUnstoredBytes { get; }

    /// <summary>A store over storage of this test class (shared by its tests) or of this test.</summary>
    protected abstract IResponseStore CreateStore();

    /// <summary>A registration key unique to this test.</summary>
    protected string KeyOf(string name) => $"scope|{name}|{_run}";

    public virtual Task InitializeAsync()
    {
        Store = CreateStore();
        return Task.CompletedTask;
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string> HostileKeys =>
    [
        "../../etc/passwd",
        "a/b",
        "..",
        "/absolute",
        "C:\\windows\\system32",
        "nul",
        "ünïcødé-登録-🎉",
        "\0",
        "x\uD800",
        "'; DROP TABLE body_chunks; --",
        "",
    ];

    [Fact]
    public async Task WriteAsync_ManyChunks_ReadsBackByteExactWithSha256()
    {
        const int length = 1_000_003;
        string digest;
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            // 7,919 is prime: writes straddle every buffer and chunk boundary at every alignment.
            await CopyAsync(new GeneratedStream(length), writer, 7_919);
            Assert.Equal(length, writer.Length);
            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        Assert.Equal(GeneratedStream.Bytes(0, length), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task CompleteAsync_EmptyBody_ReturnsSha256OfNothingAndStoresAnEmptyBody()
    {
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            Assert.Equal(ExpectedSha256(0), await writer.CompleteAsync());
        }

        await using var body = await Store.OpenReadAsync(Key, 0);
        Assert.Equal(0, body!.Length);
        Assert.Empty(await ReadToEndAsync(body.Content));
        Assert.Equal(0, await Store.GetStoredBytesAsync(Key));
    }

    [Fact]
    public async Task CompleteAsync_Twice_ReturnsTheSameDigestAndRefusesFurtherWrites()
    {
        await using var writer = await Store.OpenWriterAsync(Key, 0, 0);
        await writer.WriteAsync(GeneratedStream.Bytes(0, 100));

        var first = await writer.CompleteAsync();

        Assert.Equal(first, await writer.CompleteAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task OpenReadAsync_NoBody_ReturnsNull()
    {
        Assert.Null(await Store.OpenReadAsync(KeyOf("never written"), 0));
    }

    [Fact]
    public async Task OpenReadAsync_SeekIntoContent_ReadsTheSliceFromThere()
    {
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 200_000, 65_536);
            await writer.CompleteAsync();
        }

        await using var body = await Store.OpenReadAsync(Key, 0);

        Assert.Equal(200_000, body!.Length);
        Assert.True(body.Content.CanSeek);
        body.Content.Seek(150_001, SeekOrigin.Begin);
        var slice = new byte[1_000];
        await body.Content.ReadExactlyAsync(slice);
        Assert.Equal(GeneratedStream.Bytes(150_001, 1_000), slice);

        // Backwards, and synchronously (as RangeStream reads when its caller does).
        body.Content.Seek(-200_000, SeekOrigin.End);
        body.Content.ReadExactly(slice);
        Assert.Equal(GeneratedStream.Bytes(0, 1_000), slice);
    }

    [Fact]
    public async Task OpenRange_InclusiveByteRange_ReadsExactlyThatRange()
    {
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 100_000, 30_000);
            await writer.CompleteAsync();
        }

        await using var body = await Store.OpenReadAsync(Key, 0);

        Assert.Equal(GeneratedStream.Bytes(70_000, 20_000), await ReadToEndAsync(body!.OpenRange(70_000, 89_999)));
        Assert.Equal(GeneratedStream.Bytes(99_999, 1), await ReadToEndAsync(body.OpenRange(99_999, 99_999)));
        Assert.Equal(GeneratedStream.Bytes(5, 10), await ReadToEndAsync(body.OpenRange(5, 14)));
        Assert.Throws<ArgumentOutOfRangeException>(() => body.OpenRange(0, 100_000));
    }

    [Fact]
    public async Task OpenRange_AcrossChunkBoundaries_ReadsExactlyThatRange()
    {
        const long length = (2L * MiB) + 12_345;
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, length, 65_536);
            await writer.CompleteAsync();
        }

        await using var body = await Store.OpenReadAsync(Key, 0);

        Assert.Equal(length, body!.Length);
        Assert.Equal(GeneratedStream.Bytes(MiB - 10, MiB + 20), await ReadToEndAsync(body.OpenRange(MiB - 10, (2L * MiB) + 9)));
        Assert.Equal(GeneratedStream.Bytes(2L * MiB, 12_345), await ReadToEndAsync(body.OpenRange(2L * MiB, length - 1)));
    }

    [Fact]
    public async Task WriteAsync_DifferentRecordsOfOneRegistrationConcurrently_DoNotInterfere()
    {
        const int records = 4;
        const int length = 250_000;

        var digests = await Task.WhenAll(Enumerable.Range(0, records).Select(async record =>
        {
            await using var writer = await Store.OpenWriterAsync(Key, record, 0);
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
            Assert.Equal(GeneratedStream.Bytes(0, length, seed: record), await ReadBodyAsync(Store, Key, record));
        }
    }

    [Theory]
    [MemberData(nameof(HostileKeys))]
    public async Task OpenWriterAsync_HostileRegistrationKey_StoresAndReadsBackItsOwnBody(string hostile)
    {
        var key = hostile + _run;
        await using (var writer = await Store.OpenWriterAsync(key, 7, 0))
        {
            await writer.WriteAsync(GeneratedStream.Bytes(0, 10));
            await writer.CompleteAsync();
        }

        Assert.Equal(GeneratedStream.Bytes(0, 10), await ReadBodyAsync(Store, key, 7));
        Assert.Equal(10, await Store.GetStoredBytesAsync(key));
        await Store.DeleteRegistrationAsync(key);
        Assert.Null(await Store.OpenReadAsync(key, 7));
    }

    [Fact]
    public async Task OpenWriterAsync_KeysDifferingOnlyInUnpairedSurrogates_StoreSeparateBodies()
    {
        // UTF-8 would encode both as U+FFFD and give them one name.
        string[] keys = ["x\uD800" + _run, "x\uDBFF" + _run];
        for (var i = 0; i < keys.Length; i++)
        {
            await using var writer = await Store.OpenWriterAsync(keys[i], 0, 0);
            await writer.WriteAsync(GeneratedStream.Bytes(0, 10 + i));
            await writer.CompleteAsync();
        }

        Assert.Equal(10, await Store.GetStoredBytesAsync(keys[0]));
        Assert.Equal(11, await Store.GetStoredBytesAsync(keys[1]));
    }
}
