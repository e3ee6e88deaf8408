using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence.Snapshot;
using AkkaSelectedSnapshot = Akka.Persistence.SelectedSnapshot;
using AkkaSnapshotMetadata = Akka.Persistence.SnapshotMetadata;
using AkkaSnapshotSelectionCriteria = Akka.Persistence.SnapshotSelectionCriteria;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// The Akka.Persistence snapshot-store plugin over the project's <see cref="ISnapshotStore"/> on SQLite
/// or PostgreSQL, with Akka's serialization (serializer id and manifest stored). Configured by the HOCON
/// section <see cref="BgFetchPersistence.SnapshotStorePluginId"/>.
/// </summary>
/// <remarks>
/// Entities that never snapshot should not use any snapshot store: see
/// <see cref="BgFetchPersistence.NoSnapshotStorePluginId"/>.
/// </remarks>
public sealed class BgFetchSnapshotStore : SnapshotStore
{
    private readonly PluginSettings _settings;
    private readonly ExtendedActorSystem _system;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Lock _gate = new();
    private ISnapshotStore? _store;
    private IAsyncDisposable? _owned;
    private Task? _initialized;

    /// <summary>Creates the snapshot store from its HOCON section (Akka passes the plugin's own config).</summary>
    public BgFetchSnapshotStore(Config config)
    {
        _settings = PluginSettings.FromConfig(config);
        _system = (ExtendedActorSystem)Context.System;
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        (_store, _owned) = _settings.CreateSnapshotStore();
        _store = new ResilientSnapshotStore(
            _store,
            new StoreResilience(
                "snapshot", _settings.OutageTolerance, PluginLogging.For(_system, "BgFetchCluster.Persistence"), health: PluginHealth.For(_system)));
        _ = ReadyAsync();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // PostStop cannot await; closing the store waits for nothing that was acknowledged.
        var store = _store;
        var owned = _owned;
        var log = _log;
        _ = Task.Run(async () =>
        {
            try
            {
                if (store is not null)
                {
                    await store.DisposeAsync().ConfigureAwait(false);
                }

                if (owned is not null)
                {
                    await owned.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception exception)
            {
                log.Warning(exception, "The BgFetch snapshot store did not close cleanly.");
            }
        });
        base.PostStop();
    }

    /// <inheritdoc />
    protected override async Task<AkkaSelectedSnapshot> LoadAsync(
        string persistenceId,
        AkkaSnapshotSelectionCriteria criteria,
        CancellationToken cancellationToken)
    {
        var store = await ReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var loaded = await store.LoadAsync(persistenceId, ToCriteria(criteria), cancellationToken).ConfigureAwait(false);
        if (loaded is null)
        {
            // Akka reads a null result as "no snapshot": recovery then replays the whole journal.
            return null!;
        }

        var snapshot = AkkaPayloads.Deserialize(_system, loaded.SerializerId, loaded.Manifest, loaded.Payload);
        var metadata = new AkkaSnapshotMetadata(persistenceId, loaded.Metadata.SequenceNr, loaded.Metadata.Timestamp.UtcDateTime);
        return new AkkaSelectedSnapshot(metadata, snapshot);
    }

    /// <inheritdoc />
    protected override async Task SaveAsync(AkkaSnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var store = await ReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var (serializerId, manifest, bytes) = AkkaPayloads.Serialize(_system, snapshot);
        await store.SaveAsync(ToMetadata(metadata), serializerId, manifest, bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task DeleteAsync(AkkaSnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var store = await ReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(ToMetadata(metadata), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task DeleteAsync(string persistenceId, AkkaSnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var store = await ReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(persistenceId, ToCriteria(criteria), cancellationToken).ConfigureAwait(false);
    }

    private static SnapshotMetadata ToMetadata(AkkaSnapshotMetadata metadata) =>
        new(metadata.PersistenceId, metadata.SequenceNr, AkkaPayloads.ToUtcOffset(metadata.Timestamp));

    private static SnapshotSelectionCriteria ToCriteria(AkkaSnapshotSelectionCriteria criteria)
    {
        ArgumentNullException.ThrowIfNull(criteria);

        // Akka says "no bound" with DateTime.MaxValue (and a null minimum); the stores say it with null.
        return new SnapshotSelectionCriteria(
            criteria.MaxSequenceNr,
            criteria.MaxTimeStamp == DateTime.MaxValue ? null : AkkaPayloads.ToUtcOffset(criteria.MaxTimeStamp),
            criteria.MinSequenceNr,
            criteria.MinTimestamp is { } minimum ? AkkaPayloads.ToUtcOffset(minimum) : null);
    }

    /// <summary>The store once its schema is migrated; a failed migration is retried by the next call.</summary>
    private Task<ISnapshotStore> ReadyAsync()
    {
        var store = _store ?? throw new InvalidOperationException("The BgFetch snapshot store has not started.");
        Task initialized;
        lock (_gate)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = store.InitializeAsync();
            }

            initialized = _initialized;
        }

        return initialized.IsCompletedSuccessfully ? Task.FromResult(store) : AwaitAsync(initialized, store);

        static async Task<ISnapshotStore> AwaitAsync(Task initialized, ISnapshotStore store)
        {
            await initialized.ConfigureAwait(false);
            return store;
        }
    }
}
