using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.Sqlite;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Actors.Tests.Persistence;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// The scope index's reservation protocol on a real SQLite journal: a reservation is answered at once and
/// confirmed only when durable; a reservation whose write fails is reported lost and the id is free again.
/// </summary>
public sealed class ScopeIndexActorTests(SqliteTestDatabase<ScopeIndexActorTests> database)
    : ActorTestKit, IClassFixture<SqliteTestDatabase<ScopeIndexActorTests>>
{
    private const long Quota = 1L << 30;

    private readonly string _scope = "scope-" + Guid.NewGuid().ToString("N");
    private readonly string _bodies = Path.Combine(Path.GetTempPath(), "bgfetch-index-" + Guid.NewGuid().ToString("N"));
    private HeldJournal? _journal;

    public override async Task InitializeAsync()
    {
        _journal = new HeldJournal(new SqliteJournal(database.ConnectionString));
        var serializer = new EventSerializer().RegisterFetchEvents();
        await PersistenceExtension.RegisterAsync(Sys, _journal, new SqliteSnapshotStore(database.ConnectionString), serializer);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_bodies))
        {
            Directory.Delete(_bodies, recursive: true);
        }
    }

    [Fact]
    public async Task Reserve_IsAnsweredBeforeItsWriteIsDurable_AndConfirmedOnceItIs()
    {
        var index = StartIndex();
        var probe = CreateTestProbe();
        _journal!.Hold();

        index.Tell(Reserve("a", "i1"), probe);
        await probe.ExpectMsgAsync<IdReserved>(r => r.Id == "a");
        await _journal.WriteEntered.WaitAsync(DefaultTimeout);

        // Taken at once: a second creation of the id is refused, and getIds lists it.
        index.Tell(Reserve("a", "i2"), probe);
        Assert.Equal(409, (await probe.ExpectMsgAsync<ReservationRefused>()).Status);
        index.Tell(new GetActiveIds(_scope), probe);
        Assert.Equal(["a"], (await probe.ExpectMsgAsync<ActiveIds>()).Ids);

        // Not confirmed while the write is held.
        index.Tell(new ConfirmReservation(_scope, "a", "i1"), probe);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        _journal.Release();
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>()).Confirmed);

        // Once durable, a confirmation is answered at once; an incarnation never reserved is not confirmed.
        index.Tell(new ConfirmReservation(_scope, "a", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>()).Confirmed);
        index.Tell(new ConfirmReservation(_scope, "a", "other"), probe);
        Assert.False((await probe.ExpectMsgAsync<ReservationConfirmed>()).Confirmed);
    }

    [Fact]
    public async Task Reserve_WhoseWriteFails_IsReportedLost_AndTheIdIsFreeForTheNextIndex()
    {
        var index = StartIndex();
        var probe = CreateTestProbe();
        probe.Watch(index);
        _journal!.Hold();

        index.Tell(Reserve("b", "i1"), probe);
        await probe.ExpectMsgAsync<IdReserved>();
        await _journal.WriteEntered.WaitAsync(DefaultTimeout);
        index.Tell(new ConfirmReservation(_scope, "b", "i1"), probe);
        _journal.Fail();

        // The waiter hears that the reservation is lost, and the index stops (it cannot know its state).
        var answers = await probe.ReceiveNAsync<object>(2);
        Assert.False(Assert.Single(answers.OfType<ReservationConfirmed>()).Confirmed);
        Assert.Single(answers.OfType<Terminated>());

        var next = StartIndex();
        next.Tell(Reserve("b", "i2"), probe);
        await probe.ExpectMsgAsync<IdReserved>(r => r.Incarnation == "i2");
        next.Tell(new ConfirmReservation(_scope, "b", "i2"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>()).Confirmed);
    }

    [Fact]
    public async Task Snapshots_ComeLessOftenAsTheIndexGrows_OnlyTheLastTwoAreKept_AndRecoveryHasEveryId()
    {
        const int count = 4000;
        var index = StartIndex();
        var probe = CreateTestProbe();
        var persistenceId = "scope-index-" + _scope;
        var snapshots = new SqliteSnapshotStore(database.ConnectionString);

        // In rounds of 500 that become durable before the next (a snapshot waits until no write is in flight).
        for (var round = 0; round < count / 500; round++)
        {
            for (var i = round * 500; i < (round + 1) * 500; i++)
            {
                index.Tell(Reserve($"id-{i}", "i", maxActive: count), probe);
            }

            await probe.ReceiveNAsync<IdReserved>(500);
            index.Tell(new ConfirmReservation(_scope, $"id-{((round + 1) * 500) - 1}", "i"), probe);
            Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>()).Confirmed);
        }

        // Due after max(1,000, entries in the last snapshot) events: at 1,000, 2,000 and 4,000, not every 1,000.
        var deadline = DateTime.UtcNow + DefaultTimeout;
        SelectedSnapshot? latest;
        while ((latest = await snapshots.LoadAsync(persistenceId, SnapshotSelectionCriteria.Latest)) is not { Metadata.SequenceNr: count })
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected a snapshot at {count}, the newest is at {latest?.Metadata.SequenceNr}");
            await Task.Delay(20);
        }

        var previous = await snapshots.LoadAsync(persistenceId, new SnapshotSelectionCriteria(MaxSequenceNr: latest.Metadata.SequenceNr - 1));
        Assert.NotNull(previous);
        Assert.Equal(2000, previous.Metadata.SequenceNr);

        while (await snapshots.LoadAsync(persistenceId, new SnapshotSelectionCriteria(MaxSequenceNr: previous.Metadata.SequenceNr - 1)) is { } older)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the snapshot at {older.Metadata.SequenceNr} should have been deleted: only the last two are kept");
            await Task.Delay(20);
        }

        await StopAsync(index, probe);
        var next = StartIndex();
        next.Tell(new GetActiveIds(_scope), probe);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"id-{i}"), (await probe.ExpectMsgAsync<ActiveIds>()).Ids);
    }

    private async Task StopAsync(IActorRef actor, TestProbe probe)
    {
        probe.Watch(actor);
        Sys.Stop(actor);
        await probe.ExpectMsgAsync<Terminated>();
    }

    private ReserveId Reserve(string id, string incarnation, int maxActive = 100) => new(_scope, id, incarnation, 0, 0, Quota, maxActive);

    private IActorRef StartIndex()
    {
        var environment = new FetchEnvironment(new Fetcher(new FetchOptions()), new DiskResponseStore(_bodies), TimeProvider.System, ActorRefs.Nobody);
        return Sys.ActorOf(ScopeIndexActor.Props(_scope, environment));
    }

    /// <summary>Holds writes at a gate; released, they are stored, or failed as a storage error would fail them.</summary>
    private sealed class HeldJournal(IJournal inner) : DelegatingJournal(inner)
    {
        private readonly TaskCompletionSource _writeEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile TaskCompletionSource<bool>? _gate;

        public Task WriteEntered => _writeEntered.Task;

        public void Hold() => _gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate?.TrySetResult(true);

        public void Fail() => _gate?.TrySetResult(false);

        public override async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
        {
            if (_gate is { } gate)
            {
                _writeEntered.TrySetResult();
                if (!await gate.Task.WaitAsync(DefaultTimeout, cancellationToken))
                {
                    _gate = null;
                    throw new IOException("The test failed this write.");
                }

                _gate = null;
            }

            await Inner.WriteAsync(writes, cancellationToken);
        }
    }
}
