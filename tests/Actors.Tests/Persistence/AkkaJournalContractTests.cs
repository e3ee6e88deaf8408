using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Serialization;
using BgFetchCluster.Actors.Persistence.Plugin;
using Xunit.Abstractions;
using AkkaAtomicWrite = Akka.Persistence.AtomicWrite;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// The journal behaviours of Akka's Persistence TCK on the success paths, run against each database by
/// a subclass, with every message verified serializable (docs/architecture.md); the actor round trips are in
/// <c>AkkaJournalContractTests.Actors.cs</c>, the failure paths in <see cref="AkkaJournalFailureContractTests"/>.
/// </summary>
public abstract partial class AkkaJournalContractTests(Config storage, ITestOutputHelper output)
    : AkkaJournalTestBase(AkkaPluginTestConfig.ForJournal(storage), output)
{
    [Fact]
    public async Task ReplayMessages_WholeRange_ReplaysEveryEventInOrder()
    {
        var persistenceId = NewPersistenceId("all");
        await WriteAsync(persistenceId, 1, 5);

        var (replayed, highest) = await ReplayAsync(persistenceId);

        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, SequenceNrs(replayed));
        Assert.Equal(["a-1", "a-2", "a-3", "a-4", "a-5"], replayed.Select(p => p.Payload));
        Assert.Equal(5, highest);
    }


    [Fact]
    public async Task ReplayMessages_Range_ReplaysOnlyThatRange()
    {
        var persistenceId = NewPersistenceId("range");
        await WriteAsync(persistenceId, 1, 5);

        var (replayed, highest) = await ReplayAsync(persistenceId, from: 2, to: 4);

        Assert.Equal(new long[] { 2, 3, 4 }, SequenceNrs(replayed));
        Assert.Equal(5, highest);
    }


    [Fact]
    public async Task ReplayMessages_Max_ReplaysAtMostThatMany()
    {
        var persistenceId = NewPersistenceId("max");
        await WriteAsync(persistenceId, 1, 5);

        var (replayed, _) = await ReplayAsync(persistenceId, from: 2, max: 2);

        Assert.Equal(new long[] { 2, 3 }, SequenceNrs(replayed));
    }


    [Fact]
    public async Task ReplayMessages_LowerBoundAboveHighest_ReplaysNothing()
    {
        var persistenceId = NewPersistenceId("above");
        await WriteAsync(persistenceId, 1, 5);

        var (replayed, highest) = await ReplayAsync(persistenceId, from: 6);

        Assert.Empty(replayed);
        Assert.Equal(5, highest);
    }


    [Fact]
    public async Task ReplayMessages_UnknownPersistenceId_ReportsHighestZero()
    {
        var (replayed, highest) = await ReplayAsync(NewPersistenceId("unknown"));

        Assert.Empty(replayed);
        Assert.Equal(0, highest);
    }


    [Fact]
    public async Task ReplayMessages_StoredEvent_RoundTripsEveryField()
    {
        var persistenceId = NewPersistenceId("fields");
        await WriteAsync(persistenceId, 1, 1);

        var replayed = Assert.Single((await ReplayAsync(persistenceId)).Replayed);

        Assert.Equal(persistenceId, replayed.PersistenceId);
        Assert.Equal(1, replayed.SequenceNr);
        Assert.Equal("a-1", replayed.Payload);
        Assert.Equal(WriterGuid, replayed.WriterGuid);
        Assert.Equal(string.Empty, replayed.Manifest);
        Assert.False(replayed.IsDeleted);
        Assert.Same(ActorRefs.NoSender, replayed.Sender);
        Assert.True(replayed.Timestamp > 0, "A replayed event carries the time it was written.");
    }


    [Fact]
    public async Task ReplayMessages_AkkaProtobufAndByteArrayPayloads_RoundTripThroughTheirOwnSerializers()
    {
        // Sharding's messages (remember-entities among them) use Akka's protobuf serializer, not ours.
        var startEntity = new ShardRegion.StartEntity("entity-1");
        var shardingSerializer = Sys.Serialization.FindSerializerFor(startEntity);
        var bytesSerializer = Sys.Serialization.FindSerializerFor(new byte[] { 1 });
        Assert.IsAssignableFrom<SerializerWithStringManifest>(shardingSerializer);
        Assert.IsType<ByteArraySerializer>(bytesSerializer);
        var persistenceId = NewPersistenceId("foreign");
        var probe = CreateTestProbe();

        SendWrites(probe, [
            new AkkaAtomicWrite(Event(persistenceId, 1, WriterGuid, startEntity)),
            new AkkaAtomicWrite(Event(persistenceId, 2, WriterGuid, new byte[] { 1, 2, 3 })),
        ]);
        await probe.ExpectMsgAsync<WriteMessagesSuccessful>(Timeout);
        await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout);
        await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout);
        var (replayed, _) = await ReplayAsync(persistenceId);

        Assert.Equal("entity-1", Assert.IsType<ShardRegion.StartEntity>(replayed[0].Payload).EntityId);
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.IsType<byte[]>(replayed[1].Payload));
    }


    [Fact]
    public async Task WriteMessages_ManyActorsAtOnce_EveryWriteSucceedsInSharedRoundTrips()
    {
        var before = await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        var probes = Enumerable.Range(0, 50).Select(_ => (Probe: CreateTestProbe(), Id: NewPersistenceId("crowd"))).ToList();

        foreach (var (probe, id) in probes)
        {
            SendWrites(probe, [new AkkaAtomicWrite(ImmutableList.Create<IPersistentRepresentation>(
                Event(id, 1, WriterGuid), Event(id, 2, WriterGuid)))]);
        }

        foreach (var (probe, id) in probes)
        {
            await probe.ExpectMsgAsync<WriteMessagesSuccessful>(Timeout);
            await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout);
            await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout);
            Assert.Equal(new long[] { 1, 2 }, SequenceNrs((await ReplayAsync(id)).Replayed));
        }

        // The 50 requests reach the journal actor far faster than one commit takes, so while the first
        // batch is in flight the others queue behind it and share the following round trips.
        var after = await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        Assert.Equal(50, after.Writes - before.Writes);
        Assert.Equal(100, after.Events - before.Events);
        Assert.True(
            after.RoundTrips - before.RoundTrips < 50,
            $"50 concurrent writes took {after.RoundTrips - before.RoundTrips} round trips: they were not batched.");
    }

    [Fact]
    public async Task DeleteMessagesTo_Some_ReplaysOnlyTheRest()
    {
        var persistenceId = NewPersistenceId("delete-some");
        await WriteAsync(persistenceId, 1, 5);
        var probe = CreateTestProbe();

        Journal.Tell(new DeleteMessagesTo(persistenceId, 3, probe.Ref), probe.Ref);

        Assert.Equal(3, (await probe.ExpectMsgAsync<DeleteMessagesSuccess>(Timeout)).ToSequenceNr);
        var (replayed, highest) = await ReplayAsync(persistenceId);
        Assert.Equal(new long[] { 4, 5 }, SequenceNrs(replayed));
        Assert.Equal(5, highest);
    }


    [Fact]
    public async Task DeleteMessagesTo_All_KeepsTheHighestSequenceNr()
    {
        var persistenceId = NewPersistenceId("delete-all");
        await WriteAsync(persistenceId, 1, 5);
        var probe = CreateTestProbe();

        Journal.Tell(new DeleteMessagesTo(persistenceId, long.MaxValue, probe.Ref), probe.Ref);

        await probe.ExpectMsgAsync<DeleteMessagesSuccess>(Timeout);
        var (replayed, highest) = await ReplayAsync(persistenceId, max: 0);
        Assert.Empty(replayed);
        Assert.Equal(5, highest);
    }
}
