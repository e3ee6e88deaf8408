using Akka.Cluster.Sharding;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Routes the commands of both regions: every message the regions take names its entity
/// (<see cref="IEntityMessage"/>), so no envelope is needed; the shard is Akka's stable hash of the entity id.
/// Remember-entities' <c>ShardRegion.StartEntity</c> is handled by the base class.
/// </summary>
public sealed class EntityMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    /// <inheritdoc />
    public override string? EntityId(object message) => (message as IEntityMessage)?.EntityId;
}
