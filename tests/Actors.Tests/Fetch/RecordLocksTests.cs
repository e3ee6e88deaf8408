using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>One writer per record at a time, and nothing kept for records that nobody is writing.</summary>
public sealed class RecordLocksTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly RecordLocks _locks = new();

    [Fact]
    public async Task AcquireAsync_ThenRelease_LeavesNothingBehind()
    {
        using (await _locks.AcquireAsync("registration", 0))
        {
            Assert.Equal(1, _locks.Count);
        }

        Assert.Equal(0, _locks.Count);
    }

    [Fact]
    public async Task AcquireAsync_SameRecord_WaitsForTheHolder()
    {
        var first = await _locks.AcquireAsync("registration", 3);
        var second = _locks.AcquireAsync("registration", 3);
        await Task.Yield();
        Assert.False(second.IsCompleted, "the second writer of a record must wait for the first");

        first.Dispose();
        (await second.WaitAsync(Deadline)).Dispose();

        Assert.Equal(0, _locks.Count);
    }

    [Fact]
    public async Task AcquireAsync_OtherRecords_DoNotWait()
    {
        using var held = await _locks.AcquireAsync("registration", 0);

        using var sameRegistration = await _locks.AcquireAsync("registration", 1).WaitAsync(Deadline);
        using var otherRegistration = await _locks.AcquireAsync("other", 0).WaitAsync(Deadline);

        Assert.Equal(3, _locks.Count);
    }

    [Fact]
    public async Task AcquireAsync_WaiterCancelled_HolderKeepsItAndNothingIsLeftAfter()
    {
        var holder = await _locks.AcquireAsync("registration", 0);
        using var cancel = new CancellationTokenSource();
        var waiter = _locks.AcquireAsync("registration", 0, cancel.Token);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WaitAsync(Deadline));
        Assert.Equal(1, _locks.Count);
        holder.Dispose();
        holder.Dispose();

        Assert.Equal(0, _locks.Count);
        (await _locks.AcquireAsync("registration", 0).WaitAsync(Deadline)).Dispose();
    }

    [Fact]
    public async Task AcquireAsync_ManyWritersOfOneRecord_OneAtATime_AndNothingLeft()
    {
        var inside = 0;
        var most = 0;
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            using (await _locks.AcquireAsync("registration", 7))
            {
                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref most, now);
                await Task.Yield();
                Interlocked.Decrement(ref inside);
            }
        }))).WaitAsync(Deadline);

        Assert.Equal(1, most);
        Assert.Equal(0, _locks.Count);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
