namespace BgFetchCluster.Actors.Persistence;

/// <summary>Identifies one stored snapshot.</summary>
public sealed record SnapshotMetadata(string PersistenceId, long SequenceNr, DateTimeOffset Timestamp);

/// <summary>A snapshot as loaded from the store, with the Akka serializer id and manifest it was saved with.</summary>
public sealed record SelectedSnapshot(SnapshotMetadata Metadata, int SerializerId, string Manifest, ReadOnlyMemory<byte> Payload);

/// <summary>Bounds for selecting or deleting snapshots (Akka's <c>SnapshotSelectionCriteria</c>).</summary>
public sealed record SnapshotSelectionCriteria(
    long MaxSequenceNr = long.MaxValue,
    DateTimeOffset? MaxTimestamp = null,
    long MinSequenceNr = 0,
    DateTimeOffset? MinTimestamp = null)
{
    /// <summary>Selects the newest snapshot.</summary>
    public static SnapshotSelectionCriteria Latest { get; } = new();

    /// <summary>Selects nothing: recovery then replays the whole journal.</summary>
    public static SnapshotSelectionCriteria None { get; } = new(MaxSequenceNr: 0);
}

/// <summary>A snapshot store: rows keyed by (persistence_id, sequence_nr).</summary>
public interface ISnapshotStore : IAsyncDisposable
{
    /// <summary>Creates or migrates the schema.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>The newest snapshot matching the criteria, or null.</summary>
    Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default);

    /// <summary>Stores a snapshot, replacing one at the same sequence number.</summary>
    Task SaveAsync(
        SnapshotMetadata metadata,
        int serializerId,
        string manifest,
        ReadOnlyMemory<byte> payload,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes the snapshot at exactly this persistence id and sequence number.</summary>
    Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default);

    /// <summary>Deletes every snapshot of the entity matching the criteria.</summary>
    Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default);
}
