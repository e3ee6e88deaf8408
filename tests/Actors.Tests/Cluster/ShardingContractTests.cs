using BgFetchCluster.Actors.Cluster.Sharding;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Cluster;

/// <summary>
/// Embedded sharding with remember-entities, against every store. Each test uses its own entity type
/// name, so the shards' persistence ids never meet those of another test in the shared store.
/// </summary>
public abstract class ShardingContractTests : ActorTestKit
{
    private static readonly ShardingSettings Settings = new()
    {
        EntityRestartBackoff = TimeSpan.FromMilliseconds(100),
        SnapshotAfter = 5,
    };

    private readonly List<ActorSystem> _laterSystems = [];
    private readonly string _typeName = "t" + Guid.NewGuid().ToString("N")[..12];
    private RecordingJournal? _recording;

    /// <summary>A journal and snapshot store on the class's database; called once per actor system.</summary>
    protected abstract (IJournal Journal, ISnapshotStore Snapshots) CreateStores();

    public override Task InitializeAsync() => RegisterPersistenceAsync(Sys);

    public override async Task DisposeAsync()
    {
        foreach (var system in _laterSystems)
        {
            await system.TerminateAsync().WaitAsync(DefaultTimeout);
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task Messages_ForOneEntity_ReachOneInstanceInOrder()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);

        for (var i = 0; i < 200; i++)
        {
            region.Tell(new Ping("order", i), probe);
        }

        await probe.ExpectMsgAsync("started:order");
        var pongs = await probe.ReceiveNAsync<Pong>(200);
        Assert.Equal(Enumerable.Range(0, 200), pongs.Select(p => p.Sequence));
        Assert.Single(pongs.Select(p => p.Incarnation).Distinct());
    }

    [Fact]
    public async Task ShardEnvelope_DeliversOnlyTheWrappedMessage()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);

        region.Tell(new ShardEnvelope("wrapped", new Ping("wrapped", 7)), probe);

        await probe.ExpectMsgAsync("started:wrapped");
        Assert.Equal(7, (await probe.ExpectMsgAsync<Pong>()).Sequence);
    }

    [Fact]
    public async Task ManyEntities_SpreadOverShards_AndStatsCountThemPerShard()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        var ids = Enumerable.Range(0, 64).Select(i => $"entity-{i}").ToArray();

        foreach (var id in ids)
        {
            region.Tell(new Ping(id, 0), probe);
        }

        var pongs = (await probe.ReceiveNAsync<object>(2 * ids.Length)).OfType<Pong>().ToArray();
        Assert.Equal(ids.Order(StringComparer.Ordinal), pongs.Select(p => p.EntityId).Order(StringComparer.Ordinal));
        var expected = ids.GroupBy(id => ShardHash.ShardIdOf(id, Settings.NumberOfShards)).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(expected.Count >= 16, $"64 ids should land in at least 16 of 32 shards, but landed in {expected.Count}.");

        var stats = await region.Ask<ShardRegionStats>(GetShardRegionStats.Instance);

        Assert.Equal(ids.Length, stats.TotalEntities);
        Assert.Equal(Settings.NumberOfShards, stats.EntitiesPerShard.Count);
        foreach (var (shardId, count) in stats.EntitiesPerShard)
        {
            Assert.Equal(expected.GetValueOrDefault(shardId), count);
        }
    }

    [Fact]
    public async Task GetShardIds_WithRememberEntities_ListsEveryShard()
    {
        var region = StartRegion(Sys, CreateTestProbe());

        var shardIds = await region.Ask<ShardIds>(GetShardIds.Instance);

        Assert.Equal(Enumerable.Range(0, Settings.NumberOfShards).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), shardIds.Ids);
    }

    [Fact]
    public async Task RememberedEntities_WithAwkwardIds_StartAgainAfterTheSystemRestarts()
    {
        string[] ids = ["plain", "scope/fetch 1", "a/b/c", "élan vital/ü", "日本語 の id", "$dollar%25percent", "..", "shard-x"];
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        foreach (var id in ids)
        {
            region.Tell(new Ping(id, 1), probe);
        }

        var pongs = (await probe.ReceiveNAsync<object>(2 * ids.Length)).OfType<Pong>();
        Assert.Equal(ids.Order(StringComparer.Ordinal), pongs.Select(p => p.EntityId).Order(StringComparer.Ordinal));

        var next = await RestartSystemAsync(Sys);
        var nextProbe = CreateTestProbe();
        StartRegion(next, nextProbe);

        // Nothing is sent to them: the shards restart what they remember on their own.
        var started = await nextProbe.ReceiveNAsync<string>(ids.Length);
        Assert.Equal(ids.Select(id => $"started:{id}").Order(StringComparer.Ordinal), started.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PassivatedEntity_IsNotRestartedAfterTheSystemRestarts()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        region.Tell(new Ping("kept", 0), probe);
        region.Tell(new Ping("passivated", 0), probe);
        await probe.ReceiveNAsync<object>(4);

        region.Tell(new ShardEnvelope("passivated", "passivate"), probe);
        await probe.ExpectMsgAsync("stopped:passivated");
        await AwaitEntityCountAsync(region, 1);

        var next = await RestartSystemAsync(Sys);
        var nextProbe = CreateTestProbe();
        var nextRegion = StartRegion(next, nextProbe);

        await nextProbe.ExpectMsgAsync("started:kept");

        // Stats wait for every shard's recovery, so the count is final: only "kept" came back.
        var stats = await nextRegion.Ask<ShardRegionStats>(GetShardRegionStats.Instance);
        Assert.Equal(1, stats.TotalEntities);
        Assert.Equal(1, stats.EntitiesPerShard[ShardHash.ShardIdOf("kept", Settings.NumberOfShards)]);
    }

    [Fact]
    public async Task MessageArrivingDuringPassivation_IsDeliveredToAFreshIncarnation()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        region.Tell(new Ping("slow", 1), probe);
        await probe.ExpectMsgAsync("started:slow");
        var first = await probe.ExpectMsgAsync<Pong>();
        var firstIncarnation = probe.LastSender!;

        region.Tell(new ShardEnvelope("slow", "passivate-slowly"), probe);
        await probe.ExpectMsgAsync("bye:slow");
        region.Tell(new Ping("slow", 2), probe);
        firstIncarnation.Tell("stop-now", probe);

        await probe.ExpectMsgAsync("stopped:slow");
        await probe.ExpectMsgAsync("started:slow");
        var second = await probe.ExpectMsgAsync<Pong>();
        Assert.Equal(2, second.Sequence);
        Assert.NotEqual(first.Incarnation, second.Incarnation);
        Assert.NotSame(firstIncarnation, probe.LastSender);
    }

    [Fact]
    public async Task RememberedEntity_ThatStopsWithoutPassivating_ComesBackAfterTheBackoff()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        region.Tell(new Ping("quitter", 0), probe);
        await probe.ReceiveNAsync<object>(2);

        region.Tell(new ShardEnvelope("quitter", "stop"), probe);

        await probe.ExpectMsgAsync("stopped:quitter");
        await probe.ExpectMsgAsync("started:quitter");
        region.Tell(new Ping("quitter", 1), probe);
        Assert.Equal(1, (await probe.ExpectMsgAsync<Pong>()).Sequence);
    }

    [Fact]
    public async Task RememberedEntity_ThatCrashes_ComesBack()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        region.Tell(new Ping("crasher", 0), probe);
        var before = (await probe.ReceiveNAsync<object>(2)).OfType<Pong>().Single();

        region.Tell(new ShardEnvelope("crasher", "crash"), probe);

        await probe.FishForMessageAsync<string>(s => s == "started:crasher");
        region.Tell(new Ping("crasher", 1), probe);
        var after = await probe.FishForMessageAsync<Pong>();
        Assert.NotEqual(before.Incarnation, after.Incarnation);
        Assert.Equal(1, (await region.Ask<ShardRegionStats>(GetShardRegionStats.Instance)).TotalEntities);
    }

    [Fact]
    public async Task ManyEntitiesStartingAtOnce_ShareOneWriteWhileAnotherIsInFlight()
    {
        var journal = _recording!;
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);
        var shard = ShardHash.ShardOf("batch-0", Settings.NumberOfShards);
        var ids = Enumerable.Range(0, 200).Select(i => $"batch-{i}").Where(id => ShardHash.ShardOf(id, Settings.NumberOfShards) == shard).Take(5).ToArray();
        Assert.Equal(5, ids.Length);
        await region.Ask<ShardIds>(GetShardIds.Instance);

        journal.Hold();
        region.Tell(new Ping(ids[0], 0), probe);
        await journal.WriteEntered.WaitAsync(DefaultTimeout);
        foreach (var id in ids.Skip(1))
        {
            region.Tell(new Ping(id, 0), probe);
        }

        // The shard counts entities still starting: once it counts five, all five changes are queued.
        await AwaitEntityCountAsync(region, ids.Length);
        journal.Release();

        var pongs = (await probe.ReceiveNAsync<object>(2 * ids.Length)).OfType<Pong>();
        Assert.Equal(ids.Order(StringComparer.Ordinal), pongs.Select(p => p.EntityId).Order(StringComparer.Ordinal));
        var persistenceId = $"shard-{_typeName}-{shard}";
        Assert.Equal([1, ids.Length - 1], journal.Writes.Where(w => w.PersistenceId == persistenceId).Select(w => w.Events));
    }

    [Fact]
    public async Task Snapshots_KeepRecoveryCorrect_AcrossManyStartsAndStops()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);

        // 8 starts and 4 stops in one shard: more than two snapshots' worth of events (SnapshotAfter = 5).
        var (shard, ids) = await StartInOneShardAsync(region, probe, "snap", 8);

        foreach (var id in ids.Take(4))
        {
            region.Tell(new ShardEnvelope(id, "passivate"), probe);
        }

        await AwaitEntityCountAsync(region, 4);

        var next = await RestartSystemAsync(Sys);
        var nextProbe = CreateTestProbe();
        StartRegion(next, nextProbe);

        var started = await nextProbe.ReceiveNAsync<string>(4);
        var snapshot = await CreateStores().Snapshots.LoadAsync($"shard-{_typeName}-{shard}", SnapshotSelectionCriteria.Latest);
        Assert.NotNull(snapshot);
        Assert.True(snapshot.Metadata.SequenceNr >= 5, $"expected a snapshot at sequence number 5 or later, got {snapshot.Metadata.SequenceNr}");
        Assert.Equal(ids.Skip(4).Select(id => $"started:{id}").Order(StringComparer.Ordinal), started.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Snapshots_ComeLessOftenAsAShardRemembersMore_AndOnlyTheLastTwoAreKept()
    {
        var probe = CreateTestProbe();
        var region = StartRegion(Sys, probe);

        // 40 starts, one at a time. With SnapshotAfter = 5 a snapshot is due after max(5, entities in the last one)
        // events: at about 5, 10, 20 and 40, instead of every 5 (a snapshot holds every entity, so snapshotting a
        // large shard every 5 events would cost more than the events themselves).
        var (shard, ids) = await StartInOneShardAsync(region, probe, "grow", 40);

        // Saves and deletes finish in the background: wait until the store holds exactly two snapshots.
        var persistenceId = $"shard-{_typeName}-{shard}";
        var snapshots = CreateStores().Snapshots;
        var deadline = DateTime.UtcNow + DefaultTimeout;
        SelectedSnapshot? latest, previous, older;
        do
        {
            await Task.Delay(20);
            latest = await snapshots.LoadAsync(persistenceId, SnapshotSelectionCriteria.Latest);
            previous = latest is null ? null : await snapshots.LoadAsync(persistenceId, new SnapshotSelectionCriteria(MaxSequenceNr: latest.Metadata.SequenceNr - 1));
            older = previous is null ? null : await snapshots.LoadAsync(persistenceId, new SnapshotSelectionCriteria(MaxSequenceNr: previous.Metadata.SequenceNr - 1));
            Assert.True(DateTime.UtcNow < deadline, $"expected exactly two snapshots; saw {latest?.Metadata.SequenceNr}, {previous?.Metadata.SequenceNr}, {older?.Metadata.SequenceNr}");
        }
        while (latest is null || previous is null || older is not null);

        Assert.True(latest.Metadata.SequenceNr >= 20, $"the newest snapshot should cover at least 20 events, it is at {latest.Metadata.SequenceNr}");
        Assert.True(latest.Metadata.SequenceNr - previous.Metadata.SequenceNr >= 10, $"snapshots at {previous.Metadata.SequenceNr} and {latest.Metadata.SequenceNr} are closer than the 10 entities the first held");

        var next = await RestartSystemAsync(Sys);
        var nextProbe = CreateTestProbe();
        StartRegion(next, nextProbe);
        var started = await nextProbe.ReceiveNAsync<string>(ids.Length);
        Assert.Equal(ids.Select(id => $"started:{id}").Order(StringComparer.Ordinal), started.Order(StringComparer.Ordinal));
    }

    /// <summary>Starts <paramref name="count"/> entities that share one shard, one at a time; returns the shard and their ids.</summary>
    private static async Task<(int Shard, string[] Ids)> StartInOneShardAsync(IActorRef region, TestProbe probe, string prefix, int count)
    {
        var shard = ShardHash.ShardOf(prefix + "-0", Settings.NumberOfShards);
        var ids = Enumerable.Range(0, count * Settings.NumberOfShards * 4).Select(i => $"{prefix}-{i}")
            .Where(id => ShardHash.ShardOf(id, Settings.NumberOfShards) == shard).Take(count).ToArray();
        Assert.Equal(count, ids.Length);
        foreach (var id in ids)
        {
            region.Tell(new Ping(id, 0), probe);
            await probe.FishForMessageAsync<Pong>(p => p.EntityId == id);
        }

        return (shard, ids);
    }

    private IActorRef StartRegion(ActorSystem system, TestProbe probe) =>
        ShardRegion.Start(system, _typeName, ReportingEntity.PropsFor(probe), Settings);

    private async Task RegisterPersistenceAsync(ActorSystem system)
    {
        var (journal, snapshots) = CreateStores();
        _recording = new RecordingJournal(journal);
        var serializer = ShardingSerialization.Register(new EventSerializer());
        await PersistenceExtension.RegisterAsync(system, _recording, snapshots, serializer);
    }

    /// <summary>Terminates <paramref name="old"/> (as a node stopping) and starts a new system on the same store.</summary>
    private async Task<ActorSystem> RestartSystemAsync(ActorSystem old)
    {
        await old.TerminateAsync().WaitAsync(DefaultTimeout);
        var next = ActorSystem.Create(GetType().Name + "-restarted");
        _laterSystems.Add(next);
        await RegisterPersistenceAsync(next);
        return next;
    }

    internal static async Task AwaitEntityCountAsync(IActorRef region, int expected)
    {
        var last = -1;
        var deadline = DateTime.UtcNow + DefaultTimeout;
        while ((last = (await region.Ask<ShardRegionStats>(GetShardRegionStats.Instance)).TotalEntities) != expected)
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Expected the region to count {expected} entities within {DefaultTimeout}, but it counted {last}.");
            }

            await Task.Delay(10);
        }
    }
}
