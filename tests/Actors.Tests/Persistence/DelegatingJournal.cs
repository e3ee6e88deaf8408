using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// Passes every call to <paramref name="inner"/>; the tests' journal decorators (gates, recorders, injected
/// failures) override only what they change, over a real store.
/// </summary>
internal abstract class DelegatingJournal(IJournal inner) : IJournal
{
    protected IJournal Inner { get; } = inner;

    public virtual Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default) =>
        Inner.WriteAsync(writes, cancellationToken);

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Inner.InitializeAsync(cancellationToken);

    public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default) =>
        Inner.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, cancellationToken);

    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default) =>
        Inner.ReadHighestSequenceNrAsync(persistenceId, cancellationToken);

    public virtual Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(IReadOnlyList<string> persistenceIds, CancellationToken cancellationToken = default) =>
        Inner.ReadHighestSequenceNrsAsync(persistenceIds, cancellationToken);

    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
        Inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
