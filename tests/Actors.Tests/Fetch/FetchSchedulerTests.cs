using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>Turn-taking between registrations and the node and per-origin limits of the fetch scheduler.</summary>
public sealed partial class FetchSchedulerTests
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

    [Fact]
    public async Task Registrations_OverSeveralOrigins_TakeOneTurnEachInTurnOrder_AndKeepTheirOrder()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 10);
        var held = await scheduler.AcquireAsync("h", "http://z", CancellationToken.None);
        var waits = new List<(string Name, Task<FetchScheduler.Lease> Wait)>();
        void Queue(string registration, string origin, string name) =>
            waits.Add((name, scheduler.AcquireAsync(registration, origin, CancellationToken.None).AsTask()));

        Queue("r1", "http://a", "r1-a1");
        Queue("r1", "http://b", "r1-b1");
        Queue("r1", "http://a", "r1-a2");
        Queue("r2", "http://b", "r2-b1");
        Queue("r2", "http://b", "r2-b2");
        Queue("r3", "http://c", "r3-c1");
        held.Dispose();

        // One grant per registration per turn, registrations in the order they queued, each one's records in order.
        var order = await GrantOrder(scheduler, waits);

        Assert.Equal(["r1-a1", "r2-b1", "r3-c1", "r1-b1", "r2-b2", "r1-a2"], order);
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task Registration_HeadWaitsForBusyOrigin_ItsLaterRecordsWait_AndOtherRegistrationsGoAhead()
    {
        var scheduler = Scheduler(node: 10, perOrigin: 1);
        var heldA = await scheduler.AcquireAsync("h", "http://a", CancellationToken.None);
        var r1A = scheduler.AcquireAsync("r1", "http://a", CancellationToken.None).AsTask();
        var r1B = scheduler.AcquireAsync("r1", "http://b", CancellationToken.None).AsTask();
        var r2B = scheduler.AcquireAsync("r2", "http://b", CancellationToken.None).AsTask();

        var r2Lease = await Granted(r2B);
        Assert.False(r1A.IsCompleted, "r1's record for the busy origin a was granted");
        Assert.False(r1B.IsCompleted, "r1's second record went ahead of its first");
        Assert.Equal(2, scheduler.Active);

        heldA.Dispose();
        var r1ALease = await Granted(r1A);
        Assert.False(r1B.IsCompleted, "r1's record for b was granted while r2 held b's only place");

        r2Lease.Dispose();
        (await Granted(r1B)).Dispose();
        r1ALease.Dispose();
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task CancelledWaiter_InTheMiddleOfARegistration_IsSkipped_AndTheRestKeepTheirTurns()
    {
        var scheduler = Scheduler(node: 1, perOrigin: 10);
        var held = await scheduler.AcquireAsync("h", "http://z", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var first = scheduler.AcquireAsync("r", "http://a", CancellationToken.None).AsTask();
        var middle = scheduler.AcquireAsync("r", "http://b", cancel.Token).AsTask();
        var last = scheduler.AcquireAsync("r", "http://a", CancellationToken.None).AsTask();
        var other = scheduler.AcquireAsync("s", "http://b", CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => middle);
        held.Dispose();
        var order = await GrantOrder(scheduler, [("r-first", first), ("r-last", last), ("s", other)]);

        Assert.Equal(["r-first", "s", "r-last"], order);
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task CancelledHead_WaitingForABusyOrigin_LetsTheRegistrationsNextRecordGo()
    {
        var scheduler = Scheduler(node: 10, perOrigin: 1);
        var heldA = await scheduler.AcquireAsync("h", "http://a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var head = scheduler.AcquireAsync("r", "http://a", cancel.Token).AsTask();
        var next = scheduler.AcquireAsync("r", "http://b", CancellationToken.None).AsTask();
        Assert.False(next.IsCompleted);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => head);
        (await Granted(next)).Dispose();
        heldA.Dispose();
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task Release_WithFiftyThousandRegistrationsBehindAFullOrigin_DoesNotWalkThem()
    {
        const int waiting = 50_000;
        const int releases = 100;
        var scheduler = Scheduler(node: 64, perOrigin: 1);
        var held = await scheduler.AcquireAsync("h", "http://a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waits = Enumerable.Range(0, waiting)
            .Select(i => scheduler.AcquireAsync("r" + i, "http://a", cancel.Token).AsTask())
            .ToList();
        var other = await Granted(scheduler.AcquireAsync("s", "http://b", CancellationToken.None).AsTask());
        var before = scheduler.DispatchSteps;

        // A release elsewhere finds nothing to do; each release at the full origin grants the next registration in turn.
        other.Dispose();
        held.Dispose();
        for (var i = 0; i < releases; i++)
        {
            var lease = await Granted(waits[i]);
            Assert.False(waits[i + 1].IsCompleted, $"registration {i + 1} was granted while {i} held the origin's only place");
            lease.Dispose();
        }

        var steps = scheduler.DispatchSteps - before;
        Assert.True(steps <= 2 * (releases + 2), $"expected at most {2 * (releases + 2)} dispatch steps for {releases + 2} releases, saw {steps}");

        // Cancelling the rest costs as little: each leaves without a scan.
        var beforeCancel = scheduler.DispatchSteps;
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(waits.Skip(releases + 1)).WaitAsync(Deadline));
        Assert.All(waits.Skip(releases + 1), t => Assert.True(t.IsCanceled));
        Assert.True(scheduler.DispatchSteps - beforeCancel <= 2, $"cancelling {waiting - releases - 1} waiters took {scheduler.DispatchSteps - beforeCancel} dispatch steps");
        (await Granted(waits[releases])).Dispose();
        Assert.Equal(0, scheduler.Active);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomAcquiresReleasesAndCancels_GrantExactlyWhatTheRoundRobinModelGrants(int seed)
    {
        var random = new Random(seed);
        var scheduler = Scheduler(node: 3, perOrigin: 2);
        var model = new TurnModel(node: 3, perOrigin: 2);
        var waits = new List<(int Id, Task<FetchScheduler.Lease> Wait, CancellationTokenSource Cancel)>();
        var held = new List<(int Id, FetchScheduler.Lease Lease)>();
        for (var step = 0; step < 400; step++)
        {
            var roll = random.Next(10);
            if (roll < 5 || (held.Count == 0 && waits.Count == 0))
            {
                var registration = "r" + random.Next(5);
                var origin = "http://o" + random.Next(3);
                var cancel = new CancellationTokenSource();
                waits.Add((model.Acquire(registration, origin), scheduler.AcquireAsync(registration, origin, cancel.Token).AsTask(), cancel));
            }
            else if (roll < 8 && held.Count > 0)
            {
                var (id, lease) = held[random.Next(held.Count)];
                held.RemoveAll(h => h.Id == id);
                model.Release(id);
                lease.Dispose();
            }
            else if (waits.Count > 0)
            {
                // Every waiter still in the list is one the model has not granted.
                var wait = waits[random.Next(waits.Count)];
                model.Cancel(wait.Id);
                await wait.Cancel.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.Wait.WaitAsync(Deadline));
                waits.Remove(wait);
                wait.Cancel.Dispose();
            }

            foreach (var wait in waits.Where(w => model.IsGranted(w.Id)).ToList())
            {
                held.Add((wait.Id, await Granted(wait.Wait)));
                waits.Remove(wait);
                wait.Cancel.Dispose();
            }

            Assert.All(waits, w => Assert.False(w.Wait.IsCompleted, $"step {step}: waiter {w.Id} was granted, the model did not grant it"));
            Assert.Equal(model.Active, scheduler.Active);
        }
    }

    /// <summary>
    /// The scheduler's rules written the obvious O(waiting) way: the registration that joined the round longest ago
    /// among those whose first record's origin has room goes next, and joins again at the back after a grant.
    /// </summary>
    private sealed class TurnModel(int node, int perOrigin)
    {
        private readonly List<(string Key, Queue<int> Waiters)> _round = [];
        private readonly Dictionary<int, (string Registration, string Origin)> _waiters = [];
        private readonly HashSet<int> _cancelled = [];
        private readonly Dictionary<int, string> _granted = [];
        private int _next;

        public int Active => _granted.Count;

        public bool IsGranted(int id) => _granted.ContainsKey(id);

        public int Acquire(string registration, string origin)
        {
            var id = _next++;
            _waiters[id] = (registration, origin);
            var index = _round.FindIndex(r => r.Key == registration);
            if (index < 0)
            {
                _round.Add((registration, new Queue<int>()));
                index = _round.Count - 1;
            }

            _round[index].Waiters.Enqueue(id);
            Dispatch();
            return id;
        }

        public void Release(int id)
        {
            _granted.Remove(id);
            Dispatch();
        }

        public void Cancel(int id)
        {
            _cancelled.Add(id);
            var index = _round.FindIndex(r => r.Key == _waiters[id].Registration);
            if (_round[index].Waiters.Peek() == id)
            {
                // Its next record joins the round at the back, as after a grant.
                var entry = _round[index];
                _round.RemoveAt(index);
                Advance(entry);
                Dispatch();
            }
        }

        private void Dispatch()
        {
            while (_granted.Count < node)
            {
                var index = _round.FindIndex(r => _granted.Values.Count(o => o == _waiters[r.Waiters.Peek()].Origin) < perOrigin);
                if (index < 0)
                {
                    return;
                }

                var entry = _round[index];
                _round.RemoveAt(index);
                var id = entry.Waiters.Dequeue();
                _granted[id] = _waiters[id].Origin;
                Advance(entry);
            }
        }

        private void Advance((string Key, Queue<int> Waiters) entry)
        {
            while (entry.Waiters.Count > 0 && _cancelled.Contains(entry.Waiters.Peek()))
            {
                entry.Waiters.Dequeue();
            }

            if (entry.Waiters.Count > 0)
            {
                _round.Add(entry);
            }
        }
    }

    /// <summary>With a node limit of one: the order in which <paramref name="waits"/> are granted, each disposed before the next.</summary>
    private static async Task<List<string>> GrantOrder(FetchScheduler scheduler, IReadOnlyList<(string Name, Task<FetchScheduler.Lease> Wait)> waits)
    {
        var pending = waits.ToList();
        var order = new List<string>();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending.Select(p => p.Wait)).WaitAsync(Deadline);
            var granted = pending.Single(p => p.Wait == done);
            Assert.All(pending.Where(p => p.Wait != done), p => Assert.False(p.Wait.IsCompleted, $"{p.Name} was granted next to {granted.Name} with one place on the node"));
            order.Add(granted.Name);
            pending.Remove(granted);
            Assert.Equal(1, scheduler.Active);
            (await done).Dispose();
        }

        return order;
    }
}
