using Akka.Actor;
using Akka.Persistence;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>Recoveries as Akka asks for them: the highest sequence number first, many entities at once.</summary>
public abstract partial class AkkaJournalContractTests
{
    [Fact]
    public async Task ReplayMessages_ManyRecoveriesAtOnce_ShareReadQueriesAndEachGetsItsOwnHighest()
    {
        GatedJournal? gated = null;
        JournalDecorator.Register(Sys, inner => gated = new GatedJournal(inner, holdWrites: false));
        var known = NewPersistenceId("known");
        await WriteAsync(known, 1, 3);
        var before = await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        var opener = CreateTestProbe();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, NewPersistenceId("opener"), opener.Ref), opener.Ref);
        await gated!.FirstReadBatchEntered.WaitAsync(Timeout);

        // While the opener's query is held, 50 recoveries arrive, as when a burst of new registrations starts.
        var recoveries = Enumerable.Range(0, 50)
            .Select(i => (Probe: CreateTestProbe(), Id: i % 5 == 0 ? known : NewPersistenceId("new"), Highest: i % 5 == 0 ? 3L : 0L))
            .ToList();
        foreach (var (probe, id, _) in recoveries)
        {
            Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, id, probe.Ref), probe.Ref);
        }

        await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        gated.Release();

        Assert.Equal(0, (await opener.ExpectMsgAsync<RecoverySuccess>(Timeout)).HighestSequenceNr);
        foreach (var (probe, _, highest) in recoveries)
        {
            for (var sequenceNr = 1; sequenceNr <= highest; sequenceNr++)
            {
                Assert.Equal(sequenceNr, (await probe.ExpectMsgAsync<ReplayedMessage>(Timeout)).Persistent.SequenceNr);
            }

            Assert.Equal(highest, (await probe.ExpectMsgAsync<RecoverySuccess>(Timeout)).HighestSequenceNr);
        }

        var after = await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        Assert.Equal(51, after.Reads - before.Reads);
        Assert.Equal(1, gated.ReadBatchSizes.First());
        Assert.True(
            after.ReadRoundTrips - before.ReadRoundTrips <= 3,
            $"51 recoveries took {after.ReadRoundTrips - before.ReadRoundTrips} queries ({string.Join(", ", gated.ReadBatchSizes)}): their reads were not batched.");
    }

    [Fact]
    public async Task ReplayMessages_RecoveryInProgress_StartsNoReplayFilterActor()
    {
        // Akka's replay filter would be a child of the journal actor (beside its resequencer) for as long as the recovery
        // runs; the plugin turns it off (BgFetchPersistence: the unique key already refuses a second writer).
        GatedJournal? gated = null;
        JournalDecorator.Register(Sys, inner => gated = new GatedJournal(inner, holdWrites: false));
        await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        var recovering = CreateTestProbe();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, NewPersistenceId("filtered"), recovering.Ref), recovering.Ref);
        await gated!.FirstReadBatchEntered.WaitAsync(Timeout);

        var children = ((ActorRefWithCell)Journal).Underlying.ChildrenContainer.Children.Select(child => child.Path.Name).ToList();
        gated.Release();

        Assert.Equal(0, (await recovering.ExpectMsgAsync<RecoverySuccess>(Timeout)).HighestSequenceNr);
        Assert.Equal(["resequencer"], children);
    }
}
