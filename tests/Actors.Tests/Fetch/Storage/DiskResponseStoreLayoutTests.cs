using System.Text.RegularExpressions;
using BgFetchCluster.Actors.Fetch.Storage;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

public sealed partial class DiskResponseStoreLayoutTests : IDisposable
{
    private readonly StoreTestDirectory _directory = new(nameof(DiskResponseStoreLayoutTests));
    private readonly string _storeRoot;
    private readonly DiskResponseStore _store;

    public DiskResponseStoreLayoutTests()
    {
        // Nested, so a key that climbed out of the store with ".." would land inside the test directory where we can see it.
        _storeRoot = Path.Combine(_directory.Root, "a", "b", "store");
        _store = new DiskResponseStore(_storeRoot);
    }

    public void Dispose() => _directory.Dispose();

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
        "",
    ];

    [Theory]
    [MemberData(nameof(HostileKeys))]
    public async Task OpenWriterAsync_HostileRegistrationKey_StaysInsideDirectory(string key)
    {
        await using (var writer = await _store.OpenWriterAsync(key, 7, 0))
        {
            await writer.WriteAsync(GeneratedStream.Bytes(0, 10));
            await writer.CompleteAsync();
        }

        var file = Assert.Single(Directory.GetFiles(_directory.Root, "*", SearchOption.AllDirectories));
        var relative = Path.GetRelativePath(_storeRoot, file).Replace('\\', '/');
        Assert.Matches(StoredBodyPath(), relative);
        Assert.EndsWith(".7.body", relative, StringComparison.Ordinal);
        Assert.Equal(GeneratedStream.Bytes(0, 10), await ReadBodyAsync(_store, key, 7));
    }

    [Fact]
    public async Task DeleteRegistrationAsync_StoredBodies_RemovesEverythingAndIsIdempotent()
    {
        for (var record = 0; record < 3; record++)
        {
            await using var writer = await _store.OpenWriterAsync("doomed", record, 0);
            await WriteGeneratedAsync(writer, 0, 1_000, 1_000);
            await writer.CompleteAsync();
        }

        await using (var survivor = await _store.OpenWriterAsync("survivor", 0, 0))
        {
            await WriteGeneratedAsync(survivor, 0, 1_000, 1_000);
            await survivor.CompleteAsync();
        }

        await _store.DeleteRegistrationAsync("doomed");
        await _store.DeleteRegistrationAsync("doomed");
        await _store.DeleteRegistrationAsync("never existed");

        Assert.Equal(0, await _store.GetStoredBytesAsync("doomed"));
        for (var record = 0; record < 3; record++)
        {
            Assert.Null(await _store.OpenReadAsync("doomed", record));
        }

        var remaining = Assert.Single(Directory.GetFiles(_storeRoot, "*", SearchOption.AllDirectories));
        Assert.Equal(_store.RecordPath("survivor", 0), remaining);
    }

    [Fact]
    public async Task OpenWriterAsync_NewRegistrationsSharingANewPrefixDirectory_AllOpenAtOnce()
    {
        // Writers racing to make the same prefix directory: the loser's open can fail with "file not found" (the
        // directory appeared between its open and .NET's check of the parent), and must then simply open again.
        var groups = Enumerable.Range(0, 20_000)
            .Select(i => "racer-" + i)
            .GroupBy(key => Path.GetDirectoryName(_store.RecordPath(key, 0)))
            .Take(64)
            .Select(group => group.Take(32).ToArray())
            .ToArray();
        foreach (var keys in groups)
        {
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var writers = keys.Select(key => Task.Run(async () =>
            {
                await start.Task;
                await using var writer = await _store.OpenWriterAsync(key, 0, 0);
                await writer.WriteAsync(GeneratedStream.Bytes(0, 10));
                await writer.CompleteAsync();
            })).ToArray();
            start.SetResult();
            await Task.WhenAll(writers);
        }

        Assert.Equal(groups.Sum(keys => keys.Length), Directory.GetFiles(_storeRoot, "*", SearchOption.AllDirectories).Length);
        Assert.Equal(GeneratedStream.Bytes(0, 10), await ReadBodyAsync(_store, groups[^1][^1], 0));
    }

    [Fact]
    public async Task DeleteRegistrationAsync_WhileBodyIsBeingRead_LetsTheReaderFinish()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Windows refuses to remove the directory of an open file; the embedded node targets Linux.
        }

        await using (var writer = await _store.OpenWriterAsync("served", 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 150_000, 50_000);
            await writer.CompleteAsync();
        }

        await using var body = await _store.OpenReadAsync("served", 0);
        await _store.DeleteRegistrationAsync("served");

        Assert.Null(await _store.OpenReadAsync("served", 0));
        Assert.Equal(GeneratedStream.Bytes(0, 150_000), await ReadToEndAsync(body!.Content));
    }

    [Fact]
    public async Task WriteAsync_DiskFull_ThrowsDiskFullAndFaultsTheWriter()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /dev/full is how Linux lets a test meet ENOSPC without filling a disk.
        }

        var path = _store.RecordPath("full", 0);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, "/dev/full");
        await using var writer = await _store.OpenWriterAsync("full", 0, 0);

        // Larger than the file buffer, so the write reaches the device at once.
        var error = await Assert.ThrowsAsync<ResponseStoreException>(
            async () => await writer.WriteAsync(new byte[DiskResponseStore.BufferSize * 2]));

        Assert.Equal(ResponseStoreFailure.DiskFull, error.Failure);
        Assert.Contains("disk is full", error.Message, StringComparison.Ordinal);
        var next = await Assert.ThrowsAsync<ResponseStoreException>(async () => await writer.WriteAsync(new byte[1]));
        Assert.Equal(ResponseStoreFailure.WriterFaulted, next.Failure);
    }

    [GeneratedRegex("^[0-9a-f]{2}/[0-9a-f]{64}\\.[0-9]+\\.body$")]
    private static partial Regex StoredBodyPath();
}
