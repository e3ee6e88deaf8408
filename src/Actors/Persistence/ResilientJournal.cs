using System.Runtime.CompilerServices;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// An <see cref="IJournal"/> whose every round trip goes through the journal's <see cref="StoreResilience"/>: a database
/// that is away, restarting or out of connections is waited out (within the outage tolerance) instead of failing the
/// persistent actors that write and recover through it.
/// </summary>
/// <remarks>
/// <para>
/// A batch write is one autocommit statement, so running it again after a failure is safe: either it was not stored and
/// is stored now, or (its acknowledgement lost with the connection) it was, and the journal key refuses the copy with
/// <see cref="JournalConcurrencyException"/>. The actor then stops and recovers what is stored, as after any failed
/// persist; nothing is written twice and no history forks.
/// </para>
/// <para>
/// Replay reads pages of <see cref="ReplayPageSize"/> events, each page retried as a whole and delivered only once it is
/// read, so an outage in the middle of a long recovery resumes after the last delivered event instead of failing it.
/// </para>
/// </remarks>
public sealed class ResilientJournal(IJournal inner, StoreResilience resilience) : IJournal
{
    /// <summary>Events read per replay round trip.</summary>
    public const int ReplayPageSize = 500;

    private readonly IJournal _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly StoreResilience _resilience = resilience ?? throw new ArgumentNullException(nameof(resilience));

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.InitializeAsync(token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.WriteAsync(writes, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public async IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId,
        long fromSequenceNr,
        long toSequenceNr,
        long max,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = fromSequenceNr;
        var remaining = max;
        while (remaining > 0 && next <= toSequenceNr)
        {
            var from = next;
            var pageSize = Math.Min(remaining, ReplayPageSize);
            var page = await _resilience.ExecuteAsync(
                async token =>
                {
                    var rows = new List<PersistentRepresentation>();
                    await foreach (var row in _inner.ReplayAsync(persistenceId, from, toSequenceNr, pageSize, token).ConfigureAwait(false))
                    {
                        rows.Add(row);
                    }

                    return rows;
                },
                cancellationToken).ConfigureAwait(false);
            foreach (var row in page)
            {
                yield return row;
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            remaining -= page.Count;
            next = page[^1].SequenceNr + 1;
        }
    }

    /// <inheritdoc />
    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask<long>(_inner.ReadHighestSequenceNrAsync(persistenceId, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    /// <remarks>A read changes nothing, so the whole batch is simply asked again after a transient error.</remarks>
    public Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(
        IReadOnlyList<string> persistenceIds,
        CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(
            token => new ValueTask<IReadOnlyList<long>>(_inner.ReadHighestSequenceNrsAsync(persistenceIds, token)),
            cancellationToken).AsTask();

    /// <inheritdoc />
    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
