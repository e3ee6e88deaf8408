using System.Diagnostics;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>
/// Transient errors of a network volume (NFS, EFS): the errno values <see cref="StoreErrors"/> classifies as transient,
/// and the disk body store retrying a real file operation that fails with one. The failure is real, not a fake file
/// system: a file locked by another handle (.NET takes flock LOCK_EX for <see cref="FileShare.None"/>) makes .NET's own
/// open of it fail with EWOULDBLOCK, which is EAGAIN, the errno an NFS server answers while it is busy, until the lock
/// goes away.
/// </summary>
public sealed class DiskResponseStoreRetryTests : IDisposable
{
    private static readonly byte[] Payload = [.. Enumerable.Range(0, 200_000).Select(static i => (byte)(i * 7))];
    private readonly StoreTestDirectory _directory = new(nameof(DiskResponseStoreRetryTests));

    public static TheoryData<int, bool> LinuxErrors => new()
    {
        { 4, true }, // EINTR
        { 11, true }, // EAGAIN, EWOULDBLOCK
        { 16, true }, // EBUSY
        { 110, true }, // ETIMEDOUT
        { 116, true }, // ESTALE
        { 28, false }, // ENOSPC: the disk is full
        { 122, false }, // EDQUOT: the quota is used up
        { 5, false }, // EIO
        { 13, false }, // EACCES
        { 2, false }, // ENOENT
    };

    public void Dispose() => _directory.Dispose();

    [Theory]
    [MemberData(nameof(LinuxErrors))]
    public void IsTransient_FileErrorOnLinux_OnlyWhatANetworkVolumeAnswersForNow(int errno, bool transient)
    {
        Assert.True(OperatingSystem.IsLinux(), "these are Linux's errno values; the suite runs on Linux");
        Assert.Equal(transient, StoreErrors.IsTransient(new IOException("test", errno)));
    }

    [Fact]
    public void IsTransient_AnIOExceptionWithoutAnErrno_IsNot()
    {
        Assert.False(StoreErrors.IsTransient(new IOException("no errno")));
        Assert.False(StoreErrors.IsTransient(new FileNotFoundException("gone")));
        Assert.False(StoreErrors.IsTransient(new EndOfStreamException()));
    }

    [Fact]
    public void Translate_FullDiskStaysDiskFull_TransientBecomesUnavailable_OthersIoError()
    {
        Assert.True(OperatingSystem.IsLinux(), "these are Linux's errno values; the suite runs on Linux");
        var full = DiskErrors.Translate(new IOException("No space left on device", 28), "r", 0, "write");
        var stale = DiskErrors.Translate(new IOException("Stale file handle", 116), "r", 0, "write");
        var broken = DiskErrors.Translate(new IOException("Input/output error", 5), "r", 0, "write");

        Assert.Equal(ResponseStoreFailure.DiskFull, full.Failure);
        Assert.False(StoreErrors.IsUnavailable(full), "a full disk must fail fast, never be retried or paused for");
        Assert.Equal(ResponseStoreFailure.Unavailable, stale.Failure);
        Assert.True(StoreErrors.IsUnavailable(stale));
        Assert.Equal(ResponseStoreFailure.IoError, broken.Failure);
        Assert.False(StoreErrors.IsUnavailable(broken));
    }

    [Fact]
    public async Task OpenReadAsync_BodyLockedByAnotherHandle_WithoutRetriesFailsAsUnavailable()
    {
        var store = new DiskResponseStore(_directory.Root);
        await StoreAsync(store, "locked-once");
        using var holder = Lock(store.RecordPath("locked-once", 0), FileMode.Open);

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => store.OpenReadAsync("locked-once", 0));

        Assert.Equal(ResponseStoreFailure.Unavailable, error.Failure);
        var io = Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Equal(11, io.HResult);
    }

    [Fact]
    public async Task OpenReadAsync_BodyLockedByAnotherHandleForAWhile_RetriesAndReadsItOnceTheLockIsGone()
    {
        var health = new StoreHealth();
        var store = new DiskResponseStore(_directory.Root, new StoreResilience("bodies", TimeSpan.FromMinutes(1), health: health));
        await StoreAsync(store, "locked-read");
        var holder = Lock(store.RecordPath("locked-read", 0), FileMode.Open);

        var reading = store.OpenReadAsync("locked-read", 0);
        await WaitUntilAsync(() => health.IsUnavailable, "the store to meet the locked file and retry");
        Assert.False(reading.IsCompleted, "the read finished while the file was still locked");
        await holder.DisposeAsync();

        using var body = await reading.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(body);
        Assert.Equal(Payload, await ReadToEndAsync(body.Content));
        Assert.False(health.IsUnavailable, "the store's success did not end the outage");
    }

    [Fact]
    public async Task OpenWriterAsync_BodyLockedByAnotherHandleForAWhile_RetriesAndWritesOnceTheLockIsGone()
    {
        var health = new StoreHealth();
        var store = new DiskResponseStore(_directory.Root, new StoreResilience("bodies", TimeSpan.FromMinutes(1), health: health));
        var path = store.RecordPath("locked-write", 0);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var holder = Lock(path, FileMode.Create);

        var opening = store.OpenWriterAsync("locked-write", 0, 0);
        await WaitUntilAsync(() => health.IsUnavailable, "the store to meet the locked file and retry");
        Assert.False(opening.IsCompleted, "the writer opened while the file was still locked");
        await holder.DisposeAsync();

        await using (var writer = await opening.WaitAsync(TimeSpan.FromSeconds(30)))
        {
            await writer.WriteAsync(Payload);
            await writer.CompleteAsync();
        }

        Assert.Equal(Payload, await ReadBodyAsync(store, "locked-write", 0));
    }

    private static async Task StoreAsync(IResponseStore store, string registrationKey)
    {
        await using var writer = await store.OpenWriterAsync(registrationKey, 0, 0);
        await writer.WriteAsync(Payload);
        await writer.CompleteAsync();
    }

    /// <summary>Holds an exclusive lock on <paramref name="path"/> (flock LOCK_EX) until disposed.</summary>
    private static FileStream Lock(string path, FileMode mode) => new(path, mode, FileAccess.ReadWrite, FileShare.None);

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Expected {what} within 10 s.");
            await Task.Delay(10);
        }
    }
}
