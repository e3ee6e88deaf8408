using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>Round trips of a real <c>ReceivePersistentActor</c> through the journal: persist, stop, recover.</summary>
public abstract partial class AkkaJournalContractTests
{
    [Fact]
    public async Task PersistentActor_PersistStopAndRecover_RecoversEveryEvent()
    {
        var persistenceId = NewPersistenceId("actor");
        var first = Sys.ActorOf(JournaledCounter.Props(persistenceId, BgFetchPersistence.NoSnapshotStorePluginId));
        foreach (var command in new[] { "a", "b", "bytes" })
        {
            first.Tell(command, TestActor);
            await ExpectMsgAsync("ok:" + command, Timeout);
        }

        await StopAsync(first);
        var second = Sys.ActorOf(JournaledCounter.Props(persistenceId, BgFetchPersistence.NoSnapshotStorePluginId));

        Assert.Equal("a,b,bytes:010203", await HistoryAsync(second));
        second.Tell("c", TestActor);
        await ExpectMsgAsync("ok:c", Timeout);
    }

    [Fact]
    public async Task PersistentActor_NoSnapshotStore_RecoversFromTheJournalAlone()
    {
        // The test systems' default snapshot store fails every call, so this recovery can only succeed
        // if the actor never asks a snapshot store anything.
        var persistenceId = NewPersistenceId("no-snapshots");
        var first = Sys.ActorOf(JournaledCounter.Props(persistenceId, BgFetchPersistence.NoSnapshotStorePluginId));
        first.Tell("a", TestActor);
        await ExpectMsgAsync("ok:a", Timeout);
        await StopAsync(first);

        var second = Sys.ActorOf(JournaledCounter.Props(persistenceId, BgFetchPersistence.NoSnapshotStorePluginId));

        Assert.Equal("a", await HistoryAsync(second));
    }

    [Fact]
    public async Task PersistentActor_UnreachableSnapshotStore_FailsRecovery()
    {
        // The control for the test above: the same actor on the (failing) default snapshot store cannot recover.
        var actor = Sys.ActorOf(JournaledCounter.Props(NewPersistenceId("control")));
        var watcher = CreateTestProbe();
        watcher.Watch(actor);

        await watcher.ExpectTerminatedAsync(actor, Timeout);
    }
}
