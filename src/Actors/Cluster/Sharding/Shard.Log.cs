using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>Log messages of the shard.</summary>
internal sealed partial class Shard
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Shard {TypeName}/{ShardId} restarted {Count} remembered entities")]
    private static partial void LogRememberedEntitiesStarted(ILogger logger, string typeName, string shardId, int count);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Entity {TypeName}/{EntityId} stopped without passivating; restarting it in {Backoff}")]
    private static partial void LogEntityRestartScheduled(ILogger logger, string typeName, string entityId, TimeSpan backoff);
}
