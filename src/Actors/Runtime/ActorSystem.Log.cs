using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>The kernel's log messages, source-generated.</summary>
public sealed partial class ActorSystem
{
    internal void LogActorFailed(string path, Exception exception) => ActorFailed(_logger, path, exception);

    internal void LogRestartsExhausted(string path, int maxRetries) => RestartsExhausted(_logger, path, maxRetries);

    private void LogDeadLetter(DeadLetter deadLetter) => DeadLetterLogged(_logger, deadLetter);

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Actor {Path} failed")]
    private static partial void ActorFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Actor {Path} failed more than {MaxRetries} times in its window and is stopped")]
    private static partial void RestartsExhausted(ILogger logger, string path, int maxRetries);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{DeadLetter}")]
    private static partial void DeadLetterLogged(ILogger logger, DeadLetter deadLetter);
}
