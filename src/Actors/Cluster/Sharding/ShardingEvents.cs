using System.Text.Json.Serialization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>Journaled by a shard before an entity first receives a message: restart it after a node restart.</summary>
/// <param name="EntityId">The remembered entity.</param>
[SerializedName("sharding.entity-started.v1")]
public sealed record EntityStarted(string EntityId) : IEvent;

/// <summary>Journaled by a shard when a passivated entity has stopped: do not restart it any more.</summary>
/// <param name="EntityId">The forgotten entity.</param>
[SerializedName("sharding.entity-stopped.v1")]
public sealed record EntityStopped(string EntityId) : IEvent;

/// <summary>A shard's remembered entities at one sequence number, so recovery replays only what follows.</summary>
/// <param name="EntityIds">The remembered entity ids.</param>
[SerializedName("sharding.remembered-entities-snapshot.v1")]
public sealed record RememberedEntitiesSnapshot(IReadOnlyList<string> EntityIds)
{
    /// <inheritdoc />
    public override string ToString() => $"RememberedEntitiesSnapshot({EntityIds.Count} entities)";
}

/// <summary>Registers the sharding events with the serializer that persistence uses.</summary>
public static class ShardingSerialization
{
    /// <summary>Adds the sharding events and snapshot to <paramref name="serializer"/>; call once at start-up.</summary>
    public static EventSerializer Register(EventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        return serializer
            .Register(ShardingJsonContext.Default.EntityStarted)
            .Register(ShardingJsonContext.Default.EntityStopped)
            .Register(ShardingJsonContext.Default.RememberedEntitiesSnapshot);
    }
}

/// <summary>Source-generated JSON for the sharding events.</summary>
[JsonSerializable(typeof(EntityStarted))]
[JsonSerializable(typeof(EntityStopped))]
[JsonSerializable(typeof(RememberedEntitiesSnapshot))]
internal sealed partial class ShardingJsonContext : JsonSerializerContext;
