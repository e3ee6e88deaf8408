using BgFetchCluster.Actors.Fetch;
using Microsoft.Extensions.Time.Testing;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// Parking (issue 17, W5): a registration that only waits for turns passivates and leaves its places in the queues; when
/// one comes up the turn is held for it and it is woken, and its record, asking again, takes the held turn.
/// </summary>
public sealed partial class FetchSchedulerTests
{
    [Fact]
    public async Task ParkedRegistration_ItsTurnIsHeldForIt_AndWakesIt_ItsRecordAskingAgainTakesIt()
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

        // Its place comes up: the turn is held for it (one wake, not one per registration behind it), and it is woken.
        held.Dispose();
        Assert.Equal(1, wakes);
        Assert.Equal(1, scheduler.Active);
        Assert.False(next.IsCompleted);

        // Started again, its record asks and has the turn at once; then the next one's turn comes.
        var again = scheduler.AcquireAsync("parked", "http://a", CancellationToken.None);
        Assert.True(again.IsCompletedSuccessfully);
        Assert.False(scheduler.IsParked("parked"));
        (await again).Dispose();
        (await Granted(next)).Dispose();
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task ParkedRegistration_ThatNeverComesForItsTurn_GivesItToTheNextAfterTheReservationTimeout()
    {
        var time = new FakeTimeProvider();
        var scheduler = new FetchScheduler(new FetchOptions { MaxConcurrentRecords = 1, MaxConnectionsPerServer = 1 }, time);
        var held = await scheduler.AcquireAsync("holder", "http://a", CancellationToken.None);
        using var passivated = new CancellationTokenSource();
        _ = scheduler.AcquireAsync("moved", "http://a", passivated.Token).AsTask();
        var next = scheduler.AcquireAsync("next", "http://a", CancellationToken.None).AsTask();
        Assert.True(scheduler.TryPark("moved", downloads: 1, () => { }));
        await passivated.CancelAsync();

        // Woken, it started on another node (its shard moved): nobody here asks for the held turn.
        held.Dispose();
        time.Advance(FetchScheduler.ReservationTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        (await Granted(next)).Dispose();
        Assert.Equal(0, scheduler.Active);
        Assert.False(scheduler.IsParked("moved"));
    }

    [Fact]
    public async Task ManyParkedRegistrations_ARelease_WakesOnlyAsManyAsThereAreFreeTurns()
    {
        var scheduler = Scheduler(node: 2, perOrigin: 2);
        var running = new[] { await scheduler.AcquireAsync("r0", "http://a", CancellationToken.None), await scheduler.AcquireAsync("r1", "http://a", CancellationToken.None) };
        using var passivated = new CancellationTokenSource();
        var wakes = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var key = "p" + i;
            _ = scheduler.AcquireAsync(key, "http://a", passivated.Token).AsTask();
            Assert.True(scheduler.TryPark(key, downloads: 1, () => wakes.Add(key)));
        }

        await passivated.CancelAsync();
        running[0].Dispose();

        // One turn came free: one parked registration is woken, the oldest, however many are parked behind it.
        Assert.Equal(["p0"], wakes);
        running[1].Dispose();
        Assert.Equal(["p0", "p1"], wakes);
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
        // Cancelled by the passivation: the async AcquireAsync completes its task on the pool, so wait for it.
        foreach (var wait in parked)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Deadline));
        }
    }
}
