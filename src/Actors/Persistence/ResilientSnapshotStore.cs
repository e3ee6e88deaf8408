namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// An <see cref="ISnapshotStore"/> whose every round trip goes through the snapshot store's <see cref="StoreResilience"/>.
/// Every operation is idempotent (a save replaces the row at its sequence number), so running one again is safe.
/// </summary>
public sealed class ResilientSnapshotStore(ISnapshotStore inner, StoreResilience resilience) : ISnapshotStore
{
    private readonly ISnapshotStore _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly StoreResilience _resilience = resilience ?? throw new ArgumentNullException(nameof(resilience));

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.InitializeAsync(token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask<SelectedSnapshot?>(_inner.LoadAsync(persistenceId, criteria, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task SaveAsync(
        SnapshotMetadata metadata,
        int serializerId,
        string manifest,
        ReadOnlyMemory<byte> payload,
        CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.SaveAsync(metadata, serializerId, manifest, payload, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.DeleteAsync(metadata, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default) =>
        _resilience.ExecuteAsync(token => new ValueTask(_inner.DeleteAsync(persistenceId, criteria, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
