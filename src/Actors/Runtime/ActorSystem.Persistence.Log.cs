using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>Log messages of persistent actors, kept with the system's logger.</summary>
public sealed partial class ActorSystem
{
    internal void LogPersistFailure(string persistenceId, long sequenceNr, Exception exception) =>
        PersistFailure(_logger, persistenceId, sequenceNr, exception);

    internal void LogPersistRejected(string persistenceId, long sequenceNr, Exception exception) =>
        PersistRejected(_logger, persistenceId, sequenceNr, exception);

    internal void LogRecoveryFailure(string persistenceId, Exception exception) =>
        RecoveryFailure(_logger, persistenceId, exception);

    internal void LogJournalClosed(long roundTrips, long writes, long events) =>
        JournalClosed(_logger, roundTrips, writes, events);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Journal closed after {RoundTrips} round trips for {Writes} writes ({Events} events)")]
    private static partial void JournalClosed(ILogger logger, long roundTrips, long writes, long events);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Persistent actor {PersistenceId} could not write sequence number {SequenceNr} and stops")]
    private static partial void PersistFailure(ILogger logger, string persistenceId, long sequenceNr, Exception exception);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Persistent actor {PersistenceId} had the event at sequence number {SequenceNr} rejected")]
    private static partial void PersistRejected(ILogger logger, string persistenceId, long sequenceNr, Exception exception);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Persistent actor {PersistenceId} could not recover and stops")]
    private static partial void RecoveryFailure(ILogger logger, string persistenceId, Exception exception);
}
