using System.Buffers;
using System.Security.Cryptography;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// Appends one record's body to <see cref="PostgreSqlResponseStore"/> while hashing it, holding at most one chunk:
/// the chunk being filled, which is stored when it is full, at a flush (as a partial chunk, rewritten whole by the next
/// store of that chunk), and at completion.
/// </summary>
/// <remarks>
/// States: Writable → Completed (CompleteAsync) → Disposed, or Writable → Faulted (a store failed, was cancelled or was
/// superseded, so the database and the hash may disagree) → Disposed. Only Writable accepts writes; a faulted writer is
/// reopened at the last checkpoint, which cuts whatever the failed store left behind.
/// </remarks>
internal sealed partial class PostgreSqlResponseBodyWriter : IResponseBodyWriter
{
    private const int ChunkSize = PostgreSqlResponseStore.ChunkSize;

    /// <summary>The buffer a fresh writer starts with; it doubles up to a chunk, so small bodies never hold a whole one.</summary>
    internal const int InitialBufferSize = 64 * 1024;

    private readonly PostgreSqlResponseStore _store;
    private readonly BodyRecord _record;
    private readonly long _generation;
    private readonly Action _release;
    private readonly IncrementalHash _hash;
    private byte[]? _chunk;

    // The chunk being filled starts at _chunkStart; _buffered of its bytes are in _chunk, the first _persisted of those
    // are in the database too.
    private long _chunkStart;
    private int _buffered;
    private int _persisted;
    private WriterState _state = WriterState.Writable;
    private string? _digest;

    private PostgreSqlResponseBodyWriter(
        PostgreSqlResponseStore store, BodyRecord record, long generation, Action release, IncrementalHash hash, byte[] chunk, long offset)
    {
        _store = store;
        _record = record;
        _generation = generation;
        _release = release;
        _hash = hash;
        _chunk = chunk;
        _chunkStart = offset - (offset % ChunkSize);
        _buffered = (int)(offset - _chunkStart);
        _persisted = _buffered;
    }

    private enum WriterState
    {
        Writable,
        Faulted,
        Completed,
        Disposed,
    }

    /// <inheritdoc />
    public long Length => _chunkStart + _buffered;

    /// <inheritdoc />
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        cancellationToken.ThrowIfCancellationRequested();
        if (data.Length < ChunkSize - _buffered)
        {
            // The common case: the bytes fit in the chunk without filling it, so nothing goes to the database.
            Append(data.Span);
            return ValueTask.CompletedTask;
        }

        return WriteSlowAsync(data, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The rest of the chunk being filled: never empty, because a full chunk is stored at once.</remarks>
    public Memory<byte> GetAppendBuffer()
    {
        if (_state != WriterState.Writable)
        {
            return Memory<byte>.Empty;
        }

        if (_buffered == Capacity)
        {
            Grow(_buffered + 1);
        }

        return _chunk.AsMemory(_buffered, Capacity - _buffered);
    }

    /// <inheritdoc />
    public ValueTask AdvanceAsync(int count, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Capacity - _buffered);
        cancellationToken.ThrowIfCancellationRequested();
        _hash.AppendData(_chunk!, _buffered, count);
        _buffered += count;
        return _buffered == ChunkSize ? StoreFullChunkAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Commits the partial chunk; with nothing new, confirms the writer still owns the record.</remarks>
    public async Task FlushToDiskAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        await FlushCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<string> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_state == WriterState.Completed)
        {
            return _digest!;
        }

        ThrowIfNotWritable();
        await FlushCoreAsync(cancellationToken).ConfigureAwait(false);
        _digest = Convert.ToHexStringLower(_hash.GetHashAndReset());
        _state = WriterState.Completed;
        return _digest;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Stores what is buffered, as the file store's writer leaves its buffer in the file: bytes past the last checkpoint
    /// are cut by the next writer anyway, but a failed record keeps what arrived. A store that fails here is ignored
    /// for the same reason, and a superseded writer stores nothing.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        if (_state == WriterState.Disposed)
        {
            return;
        }

        var unstored = _state == WriterState.Writable && _buffered > _persisted;
        _state = WriterState.Disposed;
        try
        {
            if (unstored)
            {
                await StoreChunkAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (ResponseStoreException)
        {
            // Never checkpointed: nothing depends on these bytes.
        }
        finally
        {
            _hash.Dispose();
            ArrayPool<byte>.Shared.Return(_chunk!);
            _chunk = null;
            _release();
        }
    }

    /// <summary>How much of the chunk the buffer can hold now (the pool may hand out more than a chunk).</summary>
    private int Capacity => Math.Min(_chunk!.Length, ChunkSize);

    private void Grow(int needed)
    {
        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(ChunkSize, Math.Max(needed, _chunk!.Length * 2)));
        _chunk.AsSpan(0, _buffered).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_chunk);
        _chunk = grown;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_buffered + data.Length > Capacity)
        {
            Grow(_buffered + data.Length);
        }

        data.CopyTo(_chunk.AsSpan(_buffered));
        _hash.AppendData(data);
        _buffered += data.Length;
    }

    private async ValueTask WriteSlowAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var count = Math.Min(data.Length, ChunkSize - _buffered);
            Append(data.Span[..count]);
            data = data[count..];
            if (_buffered == ChunkSize)
            {
                await StoreFullChunkAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stores the full chunk and starts the next one.</summary>
    private async ValueTask StoreFullChunkAsync(CancellationToken cancellationToken)
    {
        await GuardAsync(StoreChunkAsync(cancellationToken)).ConfigureAwait(false);
        _chunkStart += ChunkSize;
        _buffered = 0;
        _persisted = 0;
    }

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        var store = _buffered > _persisted ? StoreChunkAsync(cancellationToken) : CheckOwnerAsync(cancellationToken);
        await GuardAsync(store).ConfigureAwait(false);
    }

    /// <summary>Faults the writer unless <paramref name="operation"/> succeeds: a failure midway leaves the database unknown.</summary>
    private async Task GuardAsync(Task operation)
    {
        _state = WriterState.Faulted;
        await operation.ConfigureAwait(false);
        _state = WriterState.Writable;
    }

    private void ThrowIfNotWritable()
    {
        switch (_state)
        {
            case WriterState.Writable:
                return;
            case WriterState.Faulted:
                throw new ResponseStoreException(
                    ResponseStoreFailure.WriterFaulted,
                    _record.RegistrationKey,
                    _record.RecordIndex,
                    $"An earlier write to record {_record.RecordIndex} of registration '{_record.RegistrationKey}' failed; reopen it at the last checkpoint.");
            case WriterState.Completed:
                throw new InvalidOperationException("The body is complete; nothing more can be written.");
            default:
                throw new ObjectDisposedException(nameof(PostgreSqlResponseBodyWriter));
        }
    }
}
