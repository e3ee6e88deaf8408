namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>Why a response store operation failed, so the caller can choose between restarting, failing the record and retrying.</summary>
public enum ResponseStoreFailure
{
    /// <summary>The storage reported an I/O error not covered by a more specific reason.</summary>
    IoError,

    /// <summary>The disk (or the storage's quota) is full; the record cannot be stored.</summary>
    DiskFull,

    /// <summary>The stored body is shorter than the offset a writer was asked to resume at; restart the record from 0.</summary>
    MissingPrefix,

    /// <summary>Another writer already has this record open in this process (through the same store).</summary>
    WriterAlreadyOpen,

    /// <summary>An earlier write of this writer failed, leaving its state unknown; reopen at the last checkpoint.</summary>
    WriterFaulted,

    /// <summary>
    /// A newer writer (on this node or another, after a failover) has opened the record since this one did; this
    /// writer's bytes were not stored. Only a zombie sees it: the record belongs to someone else now.
    /// </summary>
    Superseded,

    /// <summary>
    /// The body was deleted (its registration released) or cut while it was being read: the reader answers as if the
    /// registration were gone (HTTP 404), never with other bytes.
    /// </summary>
    Deleted,

    /// <summary>
    /// The store could not be reached within the outage tolerance (connection refused or exhausted, a restarting server,
    /// a busy database file): nothing is known to be wrong with the body; try again later (HTTP 503).
    /// </summary>
    Unavailable,
}

/// <summary>A response body could not be stored or read; <see cref="Failure"/> says why in terms the caller can act on.</summary>
public sealed class ResponseStoreException(
    ResponseStoreFailure failure, string registrationKey, int recordIndex, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The kind of failure.</summary>
    public ResponseStoreFailure Failure { get; } = failure;

    /// <summary>The registration whose body was being stored or read.</summary>
    public string RegistrationKey { get; } = registrationKey;

    /// <summary>The record whose body was being stored or read, or -1 when the operation concerned the whole registration.</summary>
    public int RecordIndex { get; } = recordIndex;
}
