using System.Globalization;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>
/// Wraps a message for the entity <see cref="EntityId"/>; the entity receives <see cref="Message"/>
/// alone. Messages that implement <see cref="IEntityMessage"/> need no envelope.
/// </summary>
/// <param name="EntityId">The entity's id; the shard is derived from it.</param>
/// <param name="Message">What the entity receives.</param>
public sealed record ShardEnvelope(string EntityId, object Message)
{
    /// <inheritdoc />
    public override string ToString() => $"ShardEnvelope({EntityId}: {Message})";
}

/// <summary>
/// Sent by an entity to its parent (the shard) to stop gracefully: the shard sends back
/// <see cref="StopMessage"/>, holds new messages for the entity until it has stopped, and forgets it
/// (a passivated entity is not restarted after a node restart).
/// </summary>
/// <param name="StopMessage">The message the shard sends the entity; the entity stops itself on it.</param>
public sealed record Passivate(object StopMessage)
{
    /// <inheritdoc />
    public override string ToString() => $"Passivate({StopMessage})";
}

/// <summary>Asks a region for the number of entities in each of its live shards; answered with <see cref="ShardRegionStats"/>.</summary>
public sealed class GetShardRegionStats
{
    private GetShardRegionStats()
    {
    }

    /// <summary>The single instance.</summary>
    public static GetShardRegionStats Instance { get; } = new();

    /// <inheritdoc />
    public override string ToString() => "GetShardRegionStats";
}

/// <summary>The entities a region hosts, counted per shard id (shards without entities count zero).</summary>
/// <param name="EntitiesPerShard">Shard id to number of entities.</param>
public sealed record ShardRegionStats(IReadOnlyDictionary<string, int> EntitiesPerShard)
{
    /// <summary>The number of entities over all shards.</summary>
    public int TotalEntities => EntitiesPerShard.Values.Sum();

    /// <inheritdoc />
    public override string ToString() =>
        $"ShardRegionStats({string.Join(", ", EntitiesPerShard.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value.ToString(CultureInfo.InvariantCulture)))})";
}

/// <summary>Asks a region which shards it is running; answered with <see cref="ShardIds"/>.</summary>
public sealed class GetShardIds
{
    private GetShardIds()
    {
    }

    /// <summary>The single instance.</summary>
    public static GetShardIds Instance { get; } = new();

    /// <inheritdoc />
    public override string ToString() => "GetShardIds";
}

/// <summary>The ids of the shards a region is running, in ascending numeric order.</summary>
/// <param name="Ids">The shard ids.</param>
public sealed record ShardIds(IReadOnlyList<string> Ids)
{
    /// <inheritdoc />
    public override string ToString() => $"ShardIds({string.Join(", ", Ids)})";
}

/// <summary>Asks one shard for its entity count; the region aggregates the replies.</summary>
internal sealed class GetShardStats
{
    private GetShardStats()
    {
    }

    public static GetShardStats Instance { get; } = new();
}

/// <summary>One shard's entity count.</summary>
internal sealed record ShardStats(string ShardId, int EntityCount);
