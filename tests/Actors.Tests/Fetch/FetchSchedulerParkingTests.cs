using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// Parking (issue 17, W5): a registration that only waits for turns passivates and leaves its places in the queues; when
/// one comes up it is woken, the place goes to the next waiting meanwhile, and its record, asking again, goes first.
/// </summary>
public sealed class FetchSchedulerParkingTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static FetchScheduler Scheduler(int node, int perOrigin) =>
        new(new FetchOptions { MaxConcurrentRecords = node, MaxConnectionsPerServer = perOrigin });

    private static Task<FetchScheduler.Lease> Granted(Task<FetchScheduler.Lease> wait) => wait.WaitAsync(Deadline);

    [Fact]
    public async Task ParkedRegistration_ItsTurnWakesIt_ThePlaceGoesToTheNext_AndItsRecordAskingAgainGoesFirst()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 1);
        var held = await scheduler.AcquireAsync("holder", "http://a", CancellationToken.None);
        using var passivated = new CancellationTokenSource();
        var parkedTask = scheduler.AcquireAsync("parked", "http://a", passivated.Token).AsTask();
        var next = scheduler.AcquireAsync("next", "http://a", CancellationToken.None).AsTask();
        var wakes = 0;

        Assert.True(scheduler.TryPark("parked", downloads: 1, () => wakes++));
        await passivated.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parkedTask.WaitAsync(Deadline));
        Assert.True(scheduler.IsParked("parked"));

        // Its place comes up: it is woken, and the place does not wait for it.
        held.Dispose();
        var nextTurn = await Granted(next);
        Assert.Equal(1, wakes);
        Assert.Equal(1, scheduler.Active);

        // One that queued later, and the woken registration asking again: it goes first.
        var later = scheduler.AcquireAsync("later", "http://a", CancellationToken.None).AsTask();
        var again = scheduler.AcquireAsync("parked", "http://a", CancellationToken.None).AsTask();
        nextTurn.Dispose();
        var againTurn = await Granted(again);
        Assert.False(later.IsCompleted);
        againTurn.Dispose();
        (await Granted(later)).Dispose();
        Assert.Equal(0, scheduler.Active);
        Assert.False(scheduler.IsParked("parked"));
    }

    [Fact]
    public async Task ParkedRegistration_StartedAgainBeforeItsTurn_KeepsItsPlace_AndIsNotWoken()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 1);
        var held = await scheduler.AcquireAsync("holder", "http://a", CancellationToken.None);
        using var passivated = new CancellationTokenSource();
        var parkedTask = scheduler.AcquireAsync("parked", "http://a", passivated.Token).AsTask();
        var after = scheduler.AcquireAsync("after", "http://a", CancellationToken.None).AsTask();
        var wakes = 0;
        Assert.True(scheduler.TryPark("parked", downloads: 1, () => wakes++));

        // A read started it again; its record asks before the old task has even seen its cancellation.
        var again = scheduler.AcquireAsync("parked", "http://a", CancellationToken.None).AsTask();
        Assert.False(scheduler.IsParked("parked"));
        await passivated.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parkedTask.WaitAsync(Deadline));

        held.Dispose();
        var turn = await Granted(again);
        Assert.False(after.IsCompleted);
        Assert.Equal(0, wakes);
        turn.Dispose();
        (await Granted(after)).Dispose();
    }

    [Fact]
    public async Task TryPark_WhileARecordOfItRunsOrWaitsElsewhere_ChangesNothing()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 1);
        var running = await scheduler.AcquireAsync("r", "http://a", CancellationToken.None);
        var waiting = scheduler.AcquireAsync("r", "http://a", CancellationToken.None).AsTask();

        // Two downloads, one of them holding a turn: not every one waits.
        Assert.False(scheduler.TryPark("r", downloads: 2, () => { }));
        Assert.False(scheduler.TryPark("unknown", downloads: 1, () => { }));
        Assert.Equal(1, scheduler.WaitingOf("r"));

        running.Dispose();
        (await Granted(waiting)).Dispose();
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task Unpark_ASettledRegistrationsParkedRecords_LeaveTheQueue_AndNeverWakeIt()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 1);
        var held = await scheduler.AcquireAsync("holder", "http://a", CancellationToken.None);
        using var passivated = new CancellationTokenSource();
        var parked = Enumerable.Range(0, 3).Select(_ => scheduler.AcquireAsync("aborted", "http://a", passivated.Token).AsTask()).ToList();
        var next = scheduler.AcquireAsync("next", "http://a", CancellationToken.None).AsTask();
        var wakes = 0;
        Assert.True(scheduler.TryPark("aborted", downloads: 3, () => wakes++));
        await passivated.CancelAsync();

        // Woken by an abort, it settles: what it left parked goes.
        scheduler.Unpark("aborted");
        Assert.False(scheduler.IsParked("aborted"));
        held.Dispose();
        (await Granted(next)).Dispose();
        Assert.Equal(0, wakes);
        Assert.Equal(0, scheduler.Active);
        Assert.All(parked, t => Assert.True(t.IsCanceled));
    }
}
