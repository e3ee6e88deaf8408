namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>How a <see cref="ShardRegion"/> spreads and remembers its entities (Akka's <c>ClusterShardingSettings</c>).</summary>
public sealed record ShardingSettings
{
    /// <summary>
    /// Shards per entity type. Fixed for the lifetime of the data: changing it moves entities to other
    /// shards, whose journals do not remember them.
    /// </summary>
    public int NumberOfShards { get; init; } = 32;

    /// <summary>
    /// Whether shards journal which entities are running and restart them when the shard starts again
    /// (after a crash or a node restart), as Akka's <c>remember-entities</c>.
    /// </summary>
    public bool RememberEntities { get; init; } = true;

    /// <summary>
    /// How long a remembered entity that stopped without passivating waits before it is started again
    /// (Akka's <c>entity-restart-backoff</c>); also the delay before a failed shard is restarted.
    /// </summary>
    public TimeSpan EntityRestartBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A shard snapshots its set of remembered entities after this many journaled changes.</summary>
    public int SnapshotAfter { get; init; } = 100;

    /// <summary>Throws when a value is out of range; called by <see cref="ShardRegion.Start"/>.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(NumberOfShards, 1, nameof(NumberOfShards));
        ArgumentOutOfRangeException.ThrowIfLessThan(EntityRestartBackoff, TimeSpan.Zero, nameof(EntityRestartBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(SnapshotAfter, 1, nameof(SnapshotAfter));
    }
}
