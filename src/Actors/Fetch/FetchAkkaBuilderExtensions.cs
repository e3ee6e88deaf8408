using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Actors.Serialization;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Wires the fetch domain into an Akka.Hosting actor system.</summary>
public static class FetchAkkaBuilderExtensions
{
    /// <summary>
    /// Adds the product's serializer, DistributedPubSub, the webhook notifier and the two shard regions
    /// (<c>scope-index</c> with remember-entities on the eventsourced store, then <c>registration</c>, whose entities
    /// the scope indexes restart), and
    /// completes <see cref="FetchNode.Service"/> once both run. Persistence, remoting and clustering are
    /// configured by the host beside this call.
    /// </summary>
    public static AkkaConfigurationBuilder WithBgFetch(this AkkaConfigurationBuilder builder, FetchNode node)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(node);
        var shardOptions = new ShardOptions
        {
            // A scope index restarts after a crash, a rebalance or the loss of its node, and wakes its active registrations.
            RememberEntities = true,
            // Not ddata: its durable LMDB store fails with the LightningDB this feed serves (docs/architecture.md).
            RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
            StateStoreMode = StateStoreMode.DData,
            // Entities passivate themselves once settled and idle; an active download must never be stopped for idling.
            ShouldPassivateIdleEntities = false,
        };
        // Akka's sharding state waits out any store outage (BgFetchPersistence.ShardingJournalPluginId, issue 19), with
        // either journal for the registrations (Akka.Persistence.Sql's retries end with the outage tolerance).
        shardOptions.JournalPluginId = BgFetchPersistence.ShardingJournalPluginId;
        shardOptions.SnapshotPluginId = BgFetchPersistence.ShardingSnapshotStorePluginId;

        var extractor = new EntityMessageExtractor(node.Options.NumberOfShards);

        // A moving registration checkpoints its downloads before it stops (RegistrationActor.HandOff).
        // Registrations are not remembered by their shards (issue 17, cut 2): that cost a journal write when each one
        // started and another when it passivated. Their scope index, which is remembered, knows every active one and
        // wakes them when it recovers, when a member leaves and when one moves (ScopeIndexActor).
        ShardOptions RegistrationShardOptions() => new()
        {
            RememberEntities = false,
            RememberEntitiesStore = shardOptions.RememberEntitiesStore,
            StateStoreMode = shardOptions.StateStoreMode,
            ShouldPassivateIdleEntities = shardOptions.ShouldPassivateIdleEntities,
            JournalPluginId = shardOptions.JournalPluginId,
            SnapshotPluginId = shardOptions.SnapshotPluginId,
            HandOffStopMessage = RegistrationActor.HandOff.Instance,
        };
        return builder
            .AddHocon(FetchHocon.Config, HoconAddMode.Prepend)
            .WithCustomSerializer("bgfetch", BgFetchSerializer.BoundTypes, system => new BgFetchSerializer(system))
            .WithDistributedPubSub(role: null!)
            .WithActors((system, _) => node.Attach(system))
            .WithShardRegion<ScopeIndexActor>(
                FetchEnvironment.ScopeIndexTypeName,
                entityId => ScopeIndexActor.Props(entityId, node.Environment),
                extractor,
                shardOptions)
            .WithShardRegion<RegistrationActor>(
                FetchEnvironment.RegistrationTypeName,
                entityId => RegistrationActor.Props(entityId, node.Environment),
                extractor,
                RegistrationShardOptions())
            .WithActors((_, registry) => node.Started(registry.Get<RegistrationActor>(), registry.Get<ScopeIndexActor>()));
    }
}
