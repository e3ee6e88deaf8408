using BgFetchCluster.Actors.Cluster.Sharding;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Cluster;

/// <summary>Without remember-entities a region needs no persistence and starts shards only on demand.</summary>
public sealed class ShardRegionWithoutRememberingTests : ActorTestKit
{
    private static readonly ShardingSettings Settings = new() { RememberEntities = false };

    [Fact]
    public async Task Region_WithoutPersistence_StartsOnlyTheShardsItNeeds()
    {
        var probe = CreateTestProbe();
        var region = ShardRegion.Start(Sys, "volatile", ReportingEntity.PropsFor(probe), Settings);

        region.Tell(new Ping("one", 1), probe);
        await probe.ExpectMsgAsync("started:one");
        await probe.ExpectMsgAsync<Pong>();

        var ids = await region.Ask<ShardIds>(GetShardIds.Instance);
        Assert.Equal([ShardHash.ShardIdOf("one", Settings.NumberOfShards)], ids.Ids);
    }

    [Fact]
    public async Task Entity_ThatStopsWithoutPassivating_IsForgottenAndStartsFreshOnTheNextMessage()
    {
        var probe = CreateTestProbe();
        var region = ShardRegion.Start(Sys, "volatile", ReportingEntity.PropsFor(probe), Settings);
        region.Tell(new Ping("one", 1), probe);
        await probe.ReceiveNAsync<object>(2);

        region.Tell(new ShardEnvelope("one", "stop"), probe);
        await probe.ExpectMsgAsync("stopped:one");
        await ShardingContractTests.AwaitEntityCountAsync(region, 0);

        region.Tell(new Ping("one", 2), probe);
        await probe.ExpectMsgAsync("started:one");
        Assert.Equal(2, (await probe.ExpectMsgAsync<Pong>()).Sequence);
    }

    [Fact]
    public async Task StoppingTheRegion_StopsItsEntities()
    {
        var probe = CreateTestProbe();
        var region = ShardRegion.Start(Sys, "volatile", ReportingEntity.PropsFor(probe), Settings);
        region.Tell(new Ping("one", 1), probe);
        await probe.ReceiveNAsync<object>(2);
        probe.Watch(region);

        Sys.Stop(region);

        // Children stop before parents: the entity's PostStop report precedes the region's Terminated.
        await probe.ExpectMsgAsync("stopped:one");
        await probe.ExpectMsgAsync<Terminated>();
    }
}
