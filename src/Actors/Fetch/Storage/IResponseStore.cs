namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// Durable storage for the response bodies of a registration's records: written as a stream, resumable
/// from a journaled checkpoint, read back (whole or by range) without holding a body in memory.
/// </summary>
public interface IResponseStore
{
    /// <summary>
    /// Opens record <paramref name="recordIndex"/> of <paramref name="registrationKey"/> for appending at
    /// <paramref name="offset"/>: bytes beyond it are cut off and the prefix is fed through the hash.
    /// </summary>
    /// <remarks>
    /// A crash can leave bytes past the last checkpoint, so the body is truncated to <paramref name="offset"/>
    /// first; re-hashing the prefix lets <see cref="IResponseBodyWriter.CompleteAsync"/> return the digest of
    /// the whole body. Offset 0 starts fresh. Throws <see cref="ResponseStoreException"/> with
    /// <see cref="ResponseStoreFailure.MissingPrefix"/> if the stored body is shorter than the offset; the
    /// caller then restarts the record from 0.
    /// </remarks>
    Task<IResponseBodyWriter> OpenWriterAsync(string registrationKey, int recordIndex, long offset, CancellationToken cancellationToken = default);

    /// <summary>Opens the stored body of a record for reading, or returns <see langword="null"/> if there is none.</summary>
    Task<StoredBody?> OpenReadAsync(string registrationKey, int recordIndex, CancellationToken cancellationToken = default);

    /// <summary>Deletes every stored body of the registration; deleting what is not there succeeds.</summary>
    Task DeleteRegistrationAsync(string registrationKey, CancellationToken cancellationToken = default);

    /// <summary>Returns the bytes currently stored for the registration across all its records (0 if none), for quota accounting.</summary>
    Task<long> GetStoredBytesAsync(string registrationKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Fences every body writer of the registration opened before this call, wherever it runs: once it returns, none of
    /// their bytes land (they fail as <see cref="ResponseStoreFailure.Superseded"/>). A registration that recovers as active
    /// on a new owner calls it before it journals its resume marker, so a stale copy on a node that was cut off or paused
    /// can write nothing more after the takeover (docs/architecture.md, "Failure model").
    /// </summary>
    /// <remarks>
    /// The default does nothing: it is for stores only one process writes (the files store on a node's own volume, where a
    /// stale copy of the registration on another node cannot reach the files).
    /// </remarks>
    Task FenceWritersAsync(string registrationKey, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
