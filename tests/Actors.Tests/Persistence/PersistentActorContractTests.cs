using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// Persistent-actor behaviours (Akka's Persistence TCK at the actor level), run against every store.
/// Subclasses provide a fresh journal and snapshot store for each test.
/// </summary>
public abstract class PersistentActorContractTests : ActorTestKit
{
    protected abstract Task<(IJournal Journal, ISnapshotStore Snapshots)> CreateStoresAsync();

    public override async Task InitializeAsync()
    {
        var (journal, snapshots) = await CreateStoresAsync();
        var serializer = new EventSerializer()
            .Register(CounterJsonContext.Default.Added)
            .Register(CounterJsonContext.Default.CounterSnapshot);
        await PersistenceExtension.RegisterAsync(Sys, journal, snapshots, serializer);
    }

    private static string NewId() => "counter-" + Guid.NewGuid().ToString("N");

    private IActorRef Start(string persistenceId, IActorRef? observer = null) =>
        Sys.ActorOf(Props.Create(() => new CounterEntity(persistenceId, observer)));

    /// <summary>Starts the counter with <paramref name="first"/> already in its mailbox, as a shard starts an entity.</summary>
    private IActorRef StartWith(string persistenceId, object first, IActorRef sender) =>
        Sys.ActorOf(Props.Create(() => new CounterEntity(persistenceId)), null, [(first, sender)]);

    private async Task StopAsync(IActorRef actor)
    {
        var probe = CreateTestProbe();
        probe.Watch(actor);
        Sys.Stop(actor);
        await probe.ExpectMsgAsync<Terminated>();
    }

    [Fact]
    public async Task Persist_ThenStartAgain_RecoversTheState()
    {
        var id = NewId();
        var first = Start(id);
        await first.Ask<CounterEntity.Persisted>(new CounterEntity.Add(1));
        await first.Ask<CounterEntity.Persisted>(new CounterEntity.Add(2));
        await StopAsync(first);

        var second = Start(id);
        var state = await second.Ask<CounterEntity.State>(new CounterEntity.GetState());

        Assert.Equal(3, state.Total);
        Assert.Equal(2, state.LastSequenceNr);
        Assert.Equal(["added:1", "added:2"], state.RecoveryLog);
    }

    [Fact]
    public async Task Persist_CommandsArrivingDuringTheWrite_SeeTheNewState()
    {
        var counter = Start(NewId());
        var probe = CreateTestProbe();

        for (var i = 0; i < 100; i++)
        {
            counter.Tell(new CounterEntity.Add(1), probe);
        }

        counter.Tell(new CounterEntity.GetState(), probe);

        var persisted = await probe.ReceiveNAsync<CounterEntity.Persisted>(100);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), persisted.Select(p => p.SequenceNr));
        Assert.Equal(100, (await probe.ExpectMsgAsync<CounterEntity.State>()).Total);
    }

    [Fact]
    public async Task PersistAll_RunsHandlersInOrderAndRecoversAllEvents()
    {
        var id = NewId();
        var counter = Start(id);
        var probe = CreateTestProbe();

        counter.Tell(new CounterEntity.AddMany([1, 2, 3]), probe);

        var persisted = await probe.ReceiveNAsync<CounterEntity.Persisted>(3);
        Assert.Equal([1, 3, 6], persisted.Select(p => p.Total));
        await StopAsync(counter);
        var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());
        Assert.Equal(6, state.Total);
        Assert.Equal(3, state.LastSequenceNr);
    }

    [Fact]
    public async Task PersistAllAsync_ManyWritesInFlight_HandlersRunInPersistOrder()
    {
        var id = NewId();
        var counter = Start(id);
        var probe = CreateTestProbe();

        // Each write completes as its own message; they must not overtake each other.
        for (var i = 1; i <= 500; i++)
        {
            counter.Tell(new CounterEntity.AddAsync(i), probe);
        }

        var persisted = await probe.ReceiveNAsync<CounterEntity.Persisted>(500);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i * (i + 1) / 2), persisted.Select(p => (long)p.Total));
        await StopAsync(counter);
        var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());
        Assert.Equal(500 * 501 / 2, state.Total);
        Assert.Equal(500, state.LastSequenceNr);
    }

    [Fact]
    public async Task Restart_AfterAFailure_RebuildsStateFromTheJournal()
    {
        var counter = Start(NewId());
        await counter.Ask<CounterEntity.Persisted>(new CounterEntity.Add(5));

        counter.Tell(new CounterEntity.Crash());
        var state = await counter.Ask<CounterEntity.State>(new CounterEntity.GetState());

        Assert.Equal(5, state.Total);
        Assert.Equal(["added:5"], state.RecoveryLog);
    }

    [Fact]
    public async Task Recovery_WithASnapshot_ReplaysOnlyTheEventsAfterIt()
    {
        var id = NewId();
        var observer = CreateTestProbe();
        var counter = Start(id, observer);
        await counter.Ask<CounterEntity.Persisted>(new CounterEntity.AddMany([1, 2, 3]));
        await counter.Ask<CounterEntity.Persisted>(new CounterEntity.Add(0));
        counter.Tell(new CounterEntity.TakeSnapshot());
        var saved = await observer.ExpectMsgAsync<SaveSnapshotSuccess>();
        Assert.Equal(4, saved.Metadata.SequenceNr);
        await counter.Ask<CounterEntity.Persisted>(new CounterEntity.Add(10));
        await StopAsync(counter);

        var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());

        Assert.Equal(16, state.Total);
        Assert.Equal(["snapshot@4", "added:10"], state.RecoveryLog);
        Assert.Equal(5, state.LastSequenceNr);
    }

    [Fact]
    public async Task TwoLiveWriters_OnOnePersistenceId_ExactlyOneWinsAndTheLoserStops()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var first = Start(id);
        var second = Start(id);
        await first.Ask<CounterEntity.State>(new CounterEntity.GetState());
        await second.Ask<CounterEntity.State>(new CounterEntity.GetState());
        probe.Watch(first);
        probe.Watch(second);

        // Both believe they are at sequence number 0 and write number 1.
        first.Tell(new CounterEntity.Add(10), probe);
        second.Tell(new CounterEntity.Add(20), probe);

        // The winner's reply and the loser's Terminated come from two actors: either may arrive first.
        var outcomes = await probe.ReceiveNAsync<object>(2);
        var winner = Assert.Single(outcomes.OfType<CounterEntity.Persisted>());
        var terminated = Assert.Single(outcomes.OfType<Terminated>());
        Assert.Equal(1, winner.SequenceNr);
        Assert.Same(winner.Total == 10 ? second : first, terminated.ActorRef);
        await StopAsync(winner.Total == 10 ? first : second);

        var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());
        Assert.Equal(winner.Total, state.Total);
        Assert.Equal(1, state.LastSequenceNr);
    }

    [Fact]
    public async Task CreatesEntity_AsTheFirstMessage_StartsEmptyAndRecoversNormallyLater()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var created = StartWith(id, new CounterEntity.Create(id, 5), probe);

        var persisted = await probe.ExpectMsgAsync<CounterEntity.Persisted>();
        Assert.Equal(1, persisted.SequenceNr);
        Assert.Equal(5, persisted.Total);
        Assert.Empty((await created.Ask<CounterEntity.State>(new CounterEntity.GetState())).RecoveryLog);

        // A restart after a failure, and a later start, read the history as always.
        created.Tell(new CounterEntity.Crash());
        Assert.Equal(["added:5"], (await created.Ask<CounterEntity.State>(new CounterEntity.GetState())).RecoveryLog);
        await StopAsync(created);
        var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());
        Assert.Equal((5, 1L), (state.Total, state.LastSequenceNr));
    }

    [Fact]
    public async Task CreatesEntity_ForAnIdWithAHistory_IsRefusedByTheJournalAndStops()
    {
        var id = NewId();
        var first = Start(id);
        await first.Ask<CounterEntity.Persisted>(new CounterEntity.Add(1));
        await StopAsync(first);

        // The message claims a fresh id: nothing is read, so the first write collides with sequence number 1.
        var probe = CreateTestProbe();
        var impostor = StartWith(id, new CounterEntity.Create(id, 100), probe);
        probe.Watch(impostor);
        await probe.ExpectMsgAsync<Terminated>();

        var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());
        Assert.Equal((1, 1L), (state.Total, state.LastSequenceNr));
    }

    [Fact]
    public async Task Persist_UnserializableEvent_IsRejectedWithoutStoppingAnyone()
    {
        var observer = CreateTestProbe();
        var counter = Start(NewId(), observer);
        var neighbour = Start(NewId());

        counter.Tell(new CounterEntity.AddUnregistered(7), observer);

        Assert.Equal(1, (await observer.ExpectMsgAsync<CounterEntity.Rejected>()).SequenceNr);
        var after = await counter.Ask<CounterEntity.Persisted>(new CounterEntity.Add(1));
        Assert.Equal(1, after.SequenceNr);
        Assert.Equal(1, (await neighbour.Ask<CounterEntity.Persisted>(new CounterEntity.Add(1))).SequenceNr);
    }

    [Fact]
    public async Task DeleteMessages_KeepsTheSequenceNumberMoving()
    {
        var id = NewId();
        var observer = CreateTestProbe();
        var counter = Start(id, observer);
        await counter.Ask<CounterEntity.Persisted>(new CounterEntity.AddMany([1, 2, 3]));

        counter.Tell(new CounterEntity.DeleteUpTo(3));
        await observer.ExpectMsgAsync<DeleteMessagesSuccess>();
        await StopAsync(counter);

        var restarted = Start(id);
        var state = await restarted.Ask<CounterEntity.State>(new CounterEntity.GetState());
        Assert.Equal(0, state.Total);
        Assert.Equal(3, state.LastSequenceNr);
        Assert.Equal(4, (await restarted.Ask<CounterEntity.Persisted>(new CounterEntity.Add(1))).SequenceNr);
    }

    [Fact]
    public async Task ManyActorsWritingAtOnce_AllEventsLandInOrder()
    {
        var ids = Enumerable.Range(0, 50).Select(_ => NewId()).ToArray();
        var probe = CreateTestProbe();
        var actors = ids.Select(id => Start(id)).ToArray();

        foreach (var actor in actors)
        {
            for (var i = 0; i < 20; i++)
            {
                actor.Tell(new CounterEntity.Add(1), probe);
            }
        }

        await probe.ReceiveNAsync<CounterEntity.Persisted>(50 * 20);
        foreach (var actor in actors)
        {
            await StopAsync(actor);
        }

        foreach (var id in ids)
        {
            var state = await Start(id).Ask<CounterEntity.State>(new CounterEntity.GetState());
            Assert.Equal(20, state.Total);
            Assert.Equal(20, state.LastSequenceNr);
        }
    }
}
