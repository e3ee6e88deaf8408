using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// The journal, snapshot store and serializer that the persistent actors of one system share
/// (Akka's <c>Persistence</c> extension). Registered once at start-up; disposed when the system
/// terminates, after every actor has stopped, so the last batch of writes is flushed.
/// </summary>
public sealed class PersistenceExtension : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly IJournal _inner;

    private PersistenceExtension(ActorSystem system, IJournal journal, ISnapshotStore snapshots, EventSerializer serializer)
    {
        _system = system;
        _inner = journal;
        Journal = new BatchingJournal(journal);
        SnapshotStore = snapshots;
        Serializer = serializer;
    }

    /// <summary>The batching front of the journal: what persistent actors write through.</summary>
    public BatchingJournal Journal { get; }

    /// <summary>The snapshot store.</summary>
    public ISnapshotStore SnapshotStore { get; }

    /// <summary>Maps event and snapshot types to stable manifests.</summary>
    public EventSerializer Serializer { get; }

    /// <summary>Initializes the stores' schemas and attaches persistence to <paramref name="system"/>.</summary>
    public static async Task<PersistenceExtension> RegisterAsync(
        ActorSystem system,
        IJournal journal,
        ISnapshotStore snapshots,
        EventSerializer serializer,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(serializer);
        await journal.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await snapshots.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var extension = new PersistenceExtension(system, journal, snapshots, serializer);
        var registered = system.GetOrAddExtension(_ => extension);
        if (!ReferenceEquals(registered, extension))
        {
            await extension.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"{system} already has persistence registered.");
        }

        return extension;
    }

    /// <summary>The persistence of <paramref name="system"/>; throws when none was registered.</summary>
    public static PersistenceExtension For(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        return system.GetExtension<PersistenceExtension>()
            ?? throw new InvalidOperationException($"{system} has no persistence: call PersistenceExtension.RegisterAsync at start-up.");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Journal.DisposeAsync().ConfigureAwait(false);
        _system.LogJournalClosed(Journal.RoundTrips, Journal.Writes, Journal.Events);
        await _inner.DisposeAsync().ConfigureAwait(false);
        await SnapshotStore.DisposeAsync().ConfigureAwait(false);
    }
}
