using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>Turn-taking between registrations and the node and per-origin limits of the fetch scheduler.</summary>
public sealed class FetchSchedulerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static FetchScheduler Scheduler(int node, int perOrigin) =>
        new(new FetchOptions { MaxConcurrentRecords = node, MaxConnectionsPerServer = perOrigin });

    /// <summary>Grants happen under the scheduler's lock; the waiting task completes just after, on the pool.</summary>
    private static Task<FetchScheduler.Lease> Granted(Task<FetchScheduler.Lease> wait) => wait.WaitAsync(Deadline);

    [Fact]
    public async Task Registrations_TakeTurns_ASmallOneIsNotQueuedBehindAHugeOne()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 10);
        var first = await scheduler.AcquireAsync("huge", "http://a", CancellationToken.None);
        var hugeRest = Enumerable.Range(0, 100).Select(_ => scheduler.AcquireAsync("huge", "http://a", CancellationToken.None).AsTask()).ToList();
        var small = scheduler.AcquireAsync("small", "http://a", CancellationToken.None).AsTask();

        // Turns alternate: the huge registration queued first, so it goes first, then the small one.
        first.Dispose();
        (await Granted(hugeRest[0])).Dispose();

        var smallTurn = await Granted(small);
        Assert.All(hugeRest.Skip(1), t => Assert.False(t.IsCompleted, "the huge registration's records went ahead of the small one"));
        smallTurn.Dispose();
        await Granted(hugeRest[1]);
        Assert.Equal(1, scheduler.Active);
    }

    [Fact]
    public async Task NodeLimit_IsNeverExceeded()
    {
        var scheduler = Scheduler(node: 3, perOrigin: 10);
        var waits = Enumerable.Range(0, 10).Select(i => scheduler.AcquireAsync("r" + (i % 4), "http://a", CancellationToken.None).AsTask()).ToList();

        Assert.Equal(3, scheduler.Active);
        await Task.WhenAll(waits.Take(3)).WaitAsync(Deadline);
        Assert.All(waits.Skip(3), t => Assert.False(t.IsCompleted));
        foreach (var done in waits.Take(3))
        {
            (await done).Dispose();
        }

        await Task.WhenAll(waits.Skip(3).Take(3)).WaitAsync(Deadline);
        Assert.Equal(3, scheduler.Active);
        Assert.All(waits.Skip(6), t => Assert.False(t.IsCompleted));
    }

    [Fact]
    public async Task BusyOrigin_HoldsNoNodePlace_OtherOriginsGoAhead()
    {
        var scheduler = Scheduler(node: 4, perOrigin: 1);
        var a1 = await scheduler.AcquireAsync("x", "http://a", CancellationToken.None);
        var a2 = scheduler.AcquireAsync("y", "http://a", CancellationToken.None).AsTask();
        var b1 = scheduler.AcquireAsync("z", "http://b", CancellationToken.None).AsTask();

        (await Granted(b1)).Dispose();
        Assert.False(a2.IsCompleted);
        Assert.Equal(1, scheduler.Active);

        a1.Dispose();
        (await Granted(a2)).Dispose();
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task CancelledWaiter_LeavesTheQueue_AndTakesNoTurn()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 1);
        var held = await scheduler.AcquireAsync("r", "http://a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = scheduler.AcquireAsync("s", "http://a", cancel.Token).AsTask();
        var next = scheduler.AcquireAsync("t", "http://a", CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held.Dispose();

        (await Granted(next)).Dispose();
        Assert.Equal(0, scheduler.Active);
    }
}
