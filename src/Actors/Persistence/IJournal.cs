namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// An event journal: the table of docs/architecture.md ("Persistence") with global <c>ordering</c> and
/// UNIQUE(persistence_id, sequence_nr). Implementations translate their driver's errors at this
/// boundary: a unique violation on the journal key surfaces as <see cref="JournalConcurrencyException"/>.
/// </summary>
public interface IJournal : IAsyncDisposable
{
    /// <summary>Creates or migrates the schema. Safe to call from several nodes at once.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes every given write in ONE transaction: all of them are stored, or none is and the call
    /// throws. Splitting a failed batch into per-write results is <c>BatchingJournal</c>'s job.
    /// </summary>
    Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replays the stored, undeleted events of one entity with <paramref name="fromSequenceNr"/> &lt;=
    /// sequence_nr &lt;= <paramref name="toSequenceNr"/>, in order, at most <paramref name="max"/> of them.
    /// </summary>
    IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId,
        long fromSequenceNr,
        long toSequenceNr,
        long max,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The highest sequence number ever written for the entity, including deleted events; 0 when none.
    /// </summary>
    Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The highest sequence number ever written for each of <paramref name="persistenceIds"/>, in ONE round trip:
    /// the i-th number answers the i-th id (an id may appear twice), deleted events included, 0 for an id never
    /// written. Gathering concurrent recoveries into one call is <c>BatchingJournal</c>'s job.
    /// </summary>
    Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(
        IReadOnlyList<string> persistenceIds,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the entity's events up to and including <paramref name="toSequenceNr"/>. The highest
    /// stored sequence number survives (marked deleted) so a later write can never reuse it.
    /// </summary>
    Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default);
}
