namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// Another writer already stored an event at a sequence number this write claims: the journal's
/// unique key refused to fork the entity's history. The writing actor must stop.
/// </summary>
public sealed class JournalConcurrencyException(string persistenceId, long sequenceNr, Exception? inner = null)
    : Exception($"Another writer already stored '{persistenceId}' at sequence number {sequenceNr} or later; the write was refused to keep one history.", inner)
{
    /// <summary>The entity whose history was contested.</summary>
    public string PersistenceId { get; } = persistenceId;

    /// <summary>The lowest sequence number of the refused write.</summary>
    public long SequenceNr { get; } = sequenceNr;
}

/// <summary>An event could not be serialized or is otherwise unfit to store; nothing was written.</summary>
public sealed class JournalRejectionException(string message, Exception? inner = null) : Exception(message, inner);
