namespace BgFetchCluster.Actors.Persistence;

/// <summary>A snapshot was stored; the actor may now delete older events or snapshots.</summary>
public sealed record SaveSnapshotSuccess(SnapshotMetadata Metadata);

/// <summary>A snapshot could not be stored; recovery will use an older one plus more events.</summary>
public sealed record SaveSnapshotFailure(SnapshotMetadata Metadata, Exception Cause);

/// <summary>Events up to <see cref="ToSequenceNr"/> were deleted.</summary>
public sealed record DeleteMessagesSuccess(long ToSequenceNr);

/// <summary>Deleting events failed; they are all still there.</summary>
public sealed record DeleteMessagesFailure(long ToSequenceNr, Exception Cause);

/// <summary>Snapshots matching <see cref="Criteria"/> were deleted.</summary>
public sealed record DeleteSnapshotsSuccess(SnapshotSelectionCriteria Criteria);

/// <summary>Deleting snapshots failed.</summary>
public sealed record DeleteSnapshotsFailure(SnapshotSelectionCriteria Criteria, Exception Cause);

/// <summary>Handed to the snapshot handler during recovery: the state to start from.</summary>
public sealed record SnapshotOffer(SnapshotMetadata Metadata, object Snapshot);
