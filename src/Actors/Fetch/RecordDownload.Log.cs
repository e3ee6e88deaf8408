using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>What operators see of a record's attempts: retries at Debug, failures at Information.</summary>
internal static partial class RecordDownload
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Record {Index} of {Registration}: attempt {Attempt} failed ({Reason}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string registration, int index, int attempt, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Record {Index} of {Registration} failed after {Attempts} attempt(s): {Reason}")]
    private static partial void LogFailed(ILogger logger, string registration, int index, int attempts, string reason);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Record {Index} of {Registration}: the stored body no longer holds the checkpointed {Checkpoint} bytes ({Reason}); starting again from byte 0")]
    private static partial void LogPrefixLost(ILogger logger, string registration, int index, long checkpoint, string reason);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Record {Index} of {Registration}: the body store is unavailable ({Reason}); the download pauses for {Pause} and resumes from byte {Stored}")]
    private static partial void LogPaused(ILogger logger, string registration, int index, long stored, string reason, TimeSpan pause);
}
