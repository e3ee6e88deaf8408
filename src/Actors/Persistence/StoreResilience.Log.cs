using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>What operators see of a store's outage: its start once, retries at Debug, and the end of patience.</summary>
public sealed partial class StoreResilience
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "The {Store} store is unavailable ({Reason}); retrying with backoff for up to {Tolerance}")]
    private static partial void LogUnavailable(ILogger logger, string store, TimeSpan tolerance, string reason);

    [LoggerMessage(EventId = 601, Level = LogLevel.Debug, Message = "The {Store} store: attempt {Attempt} in {Delay} ({Reason})")]
    private static partial void LogRetrying(ILogger logger, string store, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(EventId = 602, Level = LogLevel.Error, Message = "The {Store} store stayed unavailable for the outage tolerance {Tolerance}; the operation fails: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string store, TimeSpan tolerance, string reason);
}
