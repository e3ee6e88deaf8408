using Akka.Actor;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Where a record starts: from nothing, or from a durable checkpoint with the response's validators. A body of at
/// most <see cref="InlineLimit"/> bytes (0: none) is journaled with the outcome instead of stored as a file.
/// </summary>
internal sealed record RecordWork(
    string RegistrationKey,
    int Index,
    FetchRequest Request,
    long StoredBytes,
    bool HasResponse,
    int Status,
    string? ETag,
    string? LastModified,
    long? TotalLength,
    int InlineLimit = 0) : INoSerializationVerificationNeeded
{
    /// <summary>Set by the registration when it hands its shard off: checkpoint what is stored, then stop.</summary>
    public RecordDrain Drain { get; } = new();
}

/// <summary>
/// A registration's request that a record make its bytes durable and stop, because the registration is being
/// handed off to another node (a graceful leave or a rolling update): the new owner then resumes exactly there
/// instead of from the last periodic checkpoint. Set from the actor, read by the download task.
/// </summary>
internal sealed class RecordDrain
{
    private volatile bool _requested;

    /// <summary>True once the registration asked for the checkpoint and stop.</summary>
    public bool IsRequested => _requested;

    /// <summary>Asks the download to checkpoint and stop at its next read.</summary>
    public void Request() => _requested = true;
}

/// <summary>The download checkpointed and stopped because its registration is handed off; nothing failed.</summary>
internal sealed class RecordDrainedException() : Exception("The record checkpointed and stopped for a hand-off.");

// Every message here stays on one node (a record and its registration live together), so none is serialized.

/// <summary>The record's response headers arrived; <see cref="Restarted"/> when a resume was ignored and it starts from 0.</summary>
internal sealed record RecordResponseStarted(int Index, RecordResponseReceived Response, bool Restarted, long Uploaded) : INoSerializationVerificationNeeded;

/// <summary>Bytes stored so far (not yet durable): for progress and limits only.</summary>
internal sealed record RecordBytes(int Index, long StoredBytes) : INoSerializationVerificationNeeded;

/// <summary>The body is fsynced up to <see cref="StoredBytes"/>: journal it so a restart resumes there.</summary>
internal sealed record RecordCheckpoint(int Index, long StoredBytes, long Uploaded) : INoSerializationVerificationNeeded;

/// <summary>The record's final outcome; <see cref="Body"/> holds the body when it was kept inline rather than stored.</summary>
internal sealed record RecordOutcome(int Index, RecordState State, long Size, string? Sha256, string? Error, byte[]? Body = null) : INoSerializationVerificationNeeded;

/// <summary>A registration with a <c>notify</c> URL settled: deliver the event at least once.</summary>
internal sealed record NotifySettled(string Url, string EntityId, RegistrationView Registration) : INoSerializationVerificationNeeded;
