using Akka.Configuration;
using Akka.Persistence;
using BgFetchCluster.Actors.Persistence.Plugin;
using Xunit.Abstractions;
using AkkaAtomicWrite = Akka.Persistence.AtomicWrite;
using JournalConcurrencyException = BgFetchCluster.Actors.Persistence.JournalConcurrencyException;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// The journal's failure paths under Akka: rejections (the actor goes on) and storage failures (the
/// actor stops). Message serialization is not verified here: Akka's AsyncWriteJournal hands each reply
/// to its resequencer inside an internal message that is not exempt from verification, so a reply that
/// carries an exception or an unserializable event would fail verification before reaching the test.
/// </summary>
public abstract class AkkaJournalFailureContractTests(Config storage, ITestOutputHelper output)
    : AkkaJournalTestBase(AkkaPluginTestConfig.ForJournal(storage, serializeMessages: false), output)
{
    [Fact]
    public async Task WriteMessages_UnserializablePayload_RejectsOnlyThatWrite()
    {
        var persistenceId = NewPersistenceId("rejected");
        var probe = CreateTestProbe();

        SendWrites(probe, [
            new AkkaAtomicWrite(Event(persistenceId, 1, WriterGuid)),
            new AkkaAtomicWrite(Event(persistenceId, 2, WriterGuid, new Unserializable("test"))),
            new AkkaAtomicWrite(Event(persistenceId, 3, WriterGuid)),
        ]);

        await probe.ExpectMsgAsync<WriteMessagesSuccessful>(Timeout);
        Assert.Equal(1, (await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout)).Persistent.SequenceNr);
        var rejected = await probe.ExpectMsgAsync<WriteMessageRejected>(Timeout);
        Assert.Equal(2, rejected.Persistent.SequenceNr);
        Assert.Contains("deliberately unserializable", rejected.Cause.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout)).Persistent.SequenceNr);
        Assert.Equal(new long[] { 1, 3 }, SequenceNrs((await ReplayAsync(persistenceId)).Replayed));
    }


    [Fact]
    public async Task WriteMessages_DuplicateSequenceNrFromSecondWriter_FailsWithoutForking()
    {
        var persistenceId = NewPersistenceId("fork");
        await WriteAsync(persistenceId, 1, 3);
        var stale = CreateTestProbe();

        SendWrites(stale, [new AkkaAtomicWrite(Event(persistenceId, 3, "stale-writer", "forked"))], actorInstanceId: 2);

        var failed = await stale.ExpectMsgAsync<WriteMessagesFailed>(Timeout);
        Assert.IsType<JournalConcurrencyException>(failed.Cause);
        var failure = await stale.ExpectMsgAsync<WriteMessageFailure>(Timeout);
        Assert.Equal(3, failure.Persistent.SequenceNr);
        var (replayed, highest) = await ReplayAsync(persistenceId);
        Assert.Equal(3, highest);
        Assert.Equal("a-3", replayed[^1].Payload);
        Assert.All(replayed, p => Assert.Equal(WriterGuid, p.WriterGuid));
    }


    [Fact]
    public async Task WriteMessages_FailedCall_StoresNoneOfItsWrites()
    {
        // Akka reports every write of a failed call as failed, so none of them may be stored.
        var persistenceId = NewPersistenceId("all-or-none");
        await WriteAsync(persistenceId, 1, 2);
        var stale = CreateTestProbe();

        SendWrites(stale, [
            new AkkaAtomicWrite(Event(persistenceId, 2, "stale-writer", "forked-2")),
            new AkkaAtomicWrite(Event(persistenceId, 3, "stale-writer", "forked-3")),
        ]);

        await stale.ExpectMsgAsync<WriteMessagesFailed>(Timeout);
        await stale.ExpectMsgAsync<WriteMessageFailure>(Timeout);
        await stale.ExpectMsgAsync<WriteMessageFailure>(Timeout);
        var (replayed, highest) = await ReplayAsync(persistenceId);
        Assert.Equal(2, highest);
        Assert.Equal(["a-1", "a-2"], replayed.Select(p => p.Payload));
    }


    [Fact]
    public async Task WriteMessages_HighestSequenceNrAfterDeletingAll_IsNeverReused()
    {
        var persistenceId = NewPersistenceId("no-reuse");
        await WriteAsync(persistenceId, 1, 5);
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(persistenceId, 5, probe.Ref), probe.Ref);
        await probe.ExpectMsgAsync<DeleteMessagesSuccess>(Timeout);

        SendWrites(probe, [new AkkaAtomicWrite(Event(persistenceId, 5, "late-writer"))]);

        Assert.IsType<JournalConcurrencyException>((await probe.ExpectMsgAsync<WriteMessagesFailed>(Timeout)).Cause);
        await probe.ExpectMsgAsync<WriteMessageFailure>(Timeout);
        await WriteAsync(persistenceId, 6, 6);
        var (replayed, highest) = await ReplayAsync(persistenceId);
        Assert.Equal(new long[] { 6 }, SequenceNrs(replayed));
        Assert.Equal(6, highest);
    }

    [Fact]
    public async Task PersistentActor_UnserializableEvent_IsRejectedAndTheNextPersistWorks()
    {
        var persistenceId = NewPersistenceId("actor-rejected");
        var actor = Sys.ActorOf(JournaledCounter.Props(persistenceId, BgFetchPersistence.NoSnapshotStorePluginId));
        actor.Tell("a", TestActor);
        await ExpectMsgAsync("ok:a", Timeout);

        actor.Tell("bad", TestActor);
        await ExpectMsgAsync("rejected:2", Timeout);
        actor.Tell("c", TestActor);
        await ExpectMsgAsync("ok:c", Timeout);

        await StopAsync(actor);
        var recovered = Sys.ActorOf(JournaledCounter.Props(persistenceId, BgFetchPersistence.NoSnapshotStorePluginId));
        Assert.Equal("a,c", await HistoryAsync(recovered));
    }
}
