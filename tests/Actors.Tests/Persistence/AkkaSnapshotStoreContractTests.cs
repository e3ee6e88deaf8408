using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Xunit.Abstractions;
using AkkaPersistence = Akka.Persistence.Persistence;
using AkkaTestKit = Akka.TestKit.Xunit2.TestKit;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// The snapshot-store behaviours of Akka's Persistence TCK, driven through Akka as the TCK does (the
/// snapshot protocol sent to <c>SnapshotStoreFor(null)</c>), run against each database by a subclass.
/// </summary>
public abstract class AkkaSnapshotStoreContractTests(Config storage, ITestOutputHelper output)
    : AkkaTestKit(AkkaPluginTestConfig.For(storage), output: output)
{
    private static readonly TimeSpan Timeout = AkkaPluginTestConfig.Timeout;

    /// <summary>Whole milliseconds, so both databases store them exactly.</summary>
    private static readonly DateTime Start = DateTime.SpecifyKind(new DateTime(2026, 1, 2, 3, 4, 5, 678), DateTimeKind.Utc);

    private readonly string _persistenceId = JournalData.NewPersistenceId("akka-snap");

    private IActorRef SnapshotStore => AkkaPersistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    private static DateTime At(long sequenceNr) => Start.AddMinutes(sequenceNr);

    /// <summary>Saves snapshots "s-1" .. "s-5" at sequence numbers 1..5, a minute apart.</summary>
    private async Task SaveFiveAsync()
    {
        var probe = CreateTestProbe();
        for (var sequenceNr = 1L; sequenceNr <= 5; sequenceNr++)
        {
            var metadata = new SnapshotMetadata(_persistenceId, sequenceNr, At(sequenceNr));
            SnapshotStore.Tell(new SaveSnapshot(metadata, $"s-{sequenceNr}"), probe.Ref);
            Assert.Equal(metadata, (await probe.ExpectMsgAsync<SaveSnapshotSuccess>(Timeout)).Metadata);
        }
    }

    private async Task<LoadSnapshotResult> LoadAsync(SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        var probe = CreateTestProbe();
        SnapshotStore.Tell(new LoadSnapshot(_persistenceId, criteria, toSequenceNr), probe.Ref);
        return await probe.ExpectMsgAsync<LoadSnapshotResult>(Timeout);
    }

    private async Task<long?> LoadSequenceNrAsync(SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue) =>
        (await LoadAsync(criteria, toSequenceNr)).Snapshot?.Metadata.SequenceNr;

    [Fact]
    public async Task LoadSnapshot_NoSnapshot_ReturnsNoSnapshot()
    {
        var result = await LoadAsync(SnapshotSelectionCriteria.Latest);

        Assert.Null(result.Snapshot);
        Assert.Equal(long.MaxValue, result.ToSequenceNr);
    }

    [Fact]
    public async Task LoadSnapshot_Latest_ReturnsTheNewestWithMetadataAndPayload()
    {
        await SaveFiveAsync();

        var result = await LoadAsync(SnapshotSelectionCriteria.Latest, toSequenceNr: 13);

        Assert.NotNull(result.Snapshot);
        Assert.Equal(new SnapshotMetadata(_persistenceId, 5, At(5)), result.Snapshot.Metadata);
        Assert.Equal(At(5), result.Snapshot.Metadata.Timestamp);
        Assert.Equal("s-5", result.Snapshot.Snapshot);
        Assert.Equal(13, result.ToSequenceNr);
    }

    [Fact]
    public async Task LoadSnapshot_MaxSequenceNr_ReturnsTheNewestAtOrBelowIt()
    {
        await SaveFiveAsync();

        Assert.Equal(3, await LoadSequenceNrAsync(new SnapshotSelectionCriteria(3)));
        Assert.Equal(2, await LoadSequenceNrAsync(SnapshotSelectionCriteria.Latest, toSequenceNr: 2));
        Assert.Null(await LoadSequenceNrAsync(SnapshotSelectionCriteria.None));
    }

    [Fact]
    public async Task LoadSnapshot_MaxTimestamp_ReturnsTheNewestAtOrBeforeIt()
    {
        await SaveFiveAsync();

        Assert.Equal(3, await LoadSequenceNrAsync(new SnapshotSelectionCriteria(long.MaxValue, At(3))));
        Assert.Equal(2, await LoadSequenceNrAsync(new SnapshotSelectionCriteria(long.MaxValue, At(3).AddMilliseconds(-1))));
        Assert.Null(await LoadSequenceNrAsync(new SnapshotSelectionCriteria(long.MaxValue, At(1).AddMilliseconds(-1))));
    }

    [Fact]
    public async Task LoadSnapshot_MinBounds_IgnoreOlderSnapshots()
    {
        await SaveFiveAsync();

        Assert.Equal(3, await LoadSequenceNrAsync(new SnapshotSelectionCriteria(3, DateTime.MaxValue, 3, null)));
        Assert.Null(await LoadSequenceNrAsync(new SnapshotSelectionCriteria(3, DateTime.MaxValue, 0, At(4))));
    }

    [Fact]
    public async Task DeleteSnapshot_Metadata_DeletesOnlyThatSnapshot()
    {
        await SaveFiveAsync();
        var probe = CreateTestProbe();
        var metadata = new SnapshotMetadata(_persistenceId, 5, At(5));

        SnapshotStore.Tell(new DeleteSnapshot(metadata), probe.Ref);

        Assert.Equal(metadata, (await probe.ExpectMsgAsync<DeleteSnapshotSuccess>(Timeout)).Metadata);
        Assert.Equal(4, await LoadSequenceNrAsync(SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public async Task DeleteSnapshots_Criteria_DeletesEveryMatchingSnapshot()
    {
        await SaveFiveAsync();
        var probe = CreateTestProbe();
        var criteria = new SnapshotSelectionCriteria(3);

        SnapshotStore.Tell(new DeleteSnapshots(_persistenceId, criteria), probe.Ref);

        Assert.Equal(criteria, (await probe.ExpectMsgAsync<DeleteSnapshotsSuccess>(Timeout)).Criteria);
        Assert.Null(await LoadSequenceNrAsync(new SnapshotSelectionCriteria(3)));
        Assert.Equal(5, await LoadSequenceNrAsync(SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public async Task SaveSnapshot_ByteArray_RoundTripsThroughItsOwnSerializer()
    {
        var probe = CreateTestProbe();
        var metadata = new SnapshotMetadata(_persistenceId, 7, At(7));

        SnapshotStore.Tell(new SaveSnapshot(metadata, new byte[] { 4, 5, 6 }), probe.Ref);
        await probe.ExpectMsgAsync<SaveSnapshotSuccess>(Timeout);

        var loaded = (await LoadAsync(SnapshotSelectionCriteria.Latest)).Snapshot;
        Assert.NotNull(loaded);
        Assert.Equal(new byte[] { 4, 5, 6 }, Assert.IsType<byte[]>(loaded.Snapshot));
    }

    [Fact]
    public async Task SaveSnapshot_UnserializableSnapshot_ReportsFailure()
    {
        var probe = CreateTestProbe();

        SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata(_persistenceId, 1, At(1)), new Unserializable("test")), probe.Ref);

        await probe.ExpectMsgAsync<SaveSnapshotFailure>(Timeout);
        Assert.Null((await LoadAsync(SnapshotSelectionCriteria.Latest)).Snapshot);
    }

    [Fact]
    public async Task PersistentActor_SnapshotThenMoreEvents_RecoversFromSnapshotAndTheRest()
    {
        var first = Sys.ActorOf(JournaledCounter.Props(_persistenceId));
        foreach (var command in new[] { "a", "b" })
        {
            first.Tell(command, TestActor);
            await ExpectMsgAsync("ok:" + command, Timeout);
        }

        first.Tell("snap", TestActor);
        await ExpectMsgAsync("snapshot-saved:2", Timeout);
        first.Tell("c", TestActor);
        await ExpectMsgAsync("ok:c", Timeout);
        var watcher = CreateTestProbe();
        watcher.Watch(first);
        Sys.Stop(first);
        await watcher.ExpectTerminatedAsync(first, Timeout);

        var second = Sys.ActorOf(JournaledCounter.Props(_persistenceId));
        second.Tell("get", TestActor);

        Assert.Equal("snapshot(a+b),c", await ExpectMsgAsync<string>(Timeout));
    }
}
