namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// Appends one record's response body to storage while hashing it; one writer per record at a time,
/// used by one caller at a time (calls are awaited, never overlapped).
/// </summary>
public interface IResponseBodyWriter : IAsyncDisposable
{
    /// <summary>The bytes stored so far: the offset the writer was opened at plus everything appended since.</summary>
    long Length { get; }

    /// <summary>Appends <paramref name="data"/> to the body and to its running SHA-256.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// Memory the next bytes of the body may be read into directly (then appended with <see cref="AdvanceAsync"/>),
    /// saving the copy <see cref="WriteAsync"/> makes; empty when the writer has none to offer right now. Valid until
    /// the next call on the writer.
    /// </summary>
    Memory<byte> GetAppendBuffer();

    /// <summary>Appends the first <paramref name="count"/> bytes of the memory from <see cref="GetAppendBuffer"/>.</summary>
    ValueTask AdvanceAsync(int count, CancellationToken cancellationToken = default);

    /// <summary>Makes everything written so far durable (fsync); call before journaling a checkpoint at <see cref="Length"/>.</summary>
    Task FlushToDiskAsync(CancellationToken cancellationToken = default);

    /// <summary>Makes the body durable and returns the lowercase hex SHA-256 of the whole body; no writes may follow.</summary>
    Task<string> CompleteAsync(CancellationToken cancellationToken = default);
}
