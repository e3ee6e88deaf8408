using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>What operators see of a scope index keeping its registrations running.</summary>
public sealed partial class ScopeIndexActor
{
    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "Scope index {Index}: {Reason}; waking its {Count} active registrations")]
    private static partial void LogWakingAll(ILogger logger, string index, string reason, int count);

    [LoggerMessage(EventId = 421, Level = LogLevel.Information, Message = "Scope index {Index}: {Count} registrations have not answered their wake; waking them again")]
    private static partial void LogWakingUnanswered(ILogger logger, string index, int count);
}
