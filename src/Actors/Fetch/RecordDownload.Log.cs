using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>What operators see of a record's attempts: retries at Debug, failures at Information.</summary>
internal static partial class RecordDownload
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Record {Index} of {Registration}: attempt {Attempt} failed ({Reason}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string registration, int index, int attempt, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Record {Index} of {Registration} failed after {Attempts} attempt(s): {Reason}")]
    private static partial void LogFailed(ILogger logger, string registration, int index, int attempts, string reason);
}
