using System.Buffers;
using System.Data;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// A read-only, seekable view of a body in <see cref="PostgreSqlResponseStore"/>: each read past the bytes at hand
/// fetches the rest of the chunk that holds the position (one round trip, at most one chunk in memory), so a seek
/// fetches only from where it lands. Holds no connection between reads.
/// </summary>
/// <remarks>
/// The length is the body's as the stream was opened. No snapshot is held across reads (that would pin a pooled
/// connection per response being served), so a body deleted (a release) or cut by a resumed writer meanwhile fails the
/// read with <see cref="ResponseStoreFailure.Deleted"/> instead of returning different bytes.
/// </remarks>
internal sealed class PostgreSqlBodyStream : Stream
{
    private const int ChunkSize = PostgreSqlResponseStore.ChunkSize;

    private readonly PostgreSqlResponseStore _store;
    private readonly BodyRecord _record;
    private readonly long _length;
    private byte[]? _buffer;

    // _buffer holds the body's bytes [_bufferStart, _bufferStart + _buffered).
    private long _bufferStart;
    private int _buffered;
    private long _position;
    private bool _disposed;

    public PostgreSqlBodyStream(PostgreSqlResponseStore store, BodyRecord record, long length)
    {
        _store = store;
        _record = record;
        _length = length;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => !_disposed;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty || _position >= _length)
        {
            return 0;
        }

        if (!Buffered())
        {
            Fetch();
        }

        return CopyOut(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty || _position >= _length)
        {
            return ValueTask.FromResult(0);
        }

        return Buffered() ? ValueTask.FromResult(CopyOut(buffer.Span)) : FetchThenCopyAsync(buffer, cancellationToken);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _disposed = true;
        base.Dispose(disposing);
    }

    private bool Buffered() => _position >= _bufferStart && _position < _bufferStart + _buffered;

    private int CopyOut(Span<byte> destination)
    {
        var from = (int)(_position - _bufferStart);
        var count = Math.Min(destination.Length, _buffered - from);
        _buffer.AsSpan(from, count).CopyTo(destination);
        _position += count;
        return count;
    }

    private async ValueTask<int> FetchThenCopyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            await _store.Resilience.ExecuteAsync(token => new ValueTask(FetchOnceAsync(token)), cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, _record.RegistrationKey, _record.RecordIndex, "read");
        }

        return CopyOut(destination.Span);
    }

    /// <summary>One round trip for the rest of the chunk at the position (safe to run again).</summary>
    private async Task FetchOnceAsync(CancellationToken cancellationToken)
    {
        var (command, needed) = FetchCommand();
        using (command)
        {
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw Changed();
            }

            var stream = await reader.GetStreamAsync(0, cancellationToken).ConfigureAwait(false);
            await using var streamScope = stream.ConfigureAwait(false);
            Fetched(await stream.ReadAtLeastAsync(_buffer.AsMemory(0, needed), needed, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false), needed);
        }
    }

    /// <summary>The synchronous twin of <see cref="FetchThenCopyAsync"/>, for callers of <see cref="Stream.Read(Span{byte})"/>.</summary>
    private void Fetch()
    {
        var (command, needed) = FetchCommand();
        try
        {
            using (command)
            {
                using var reader = command.ExecuteReader(CommandBehavior.SequentialAccess);
                if (!reader.Read())
                {
                    throw Changed();
                }

                using var stream = reader.GetStream(0);
                Fetched(stream.ReadAtLeast(_buffer.AsSpan(0, needed), needed, throwOnEndOfStream: false), needed);
            }
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, _record.RegistrationKey, _record.RecordIndex, "read");
        }
    }

    /// <summary>The query for the bytes from the position to the end of its chunk (or of the body), and how many those are.</summary>
    private (NpgsqlCommand Command, int Needed) FetchCommand()
    {
        var chunk = _position - (_position % ChunkSize);
        var needed = (int)(Math.Min(chunk + ChunkSize, _length) - _position);
        _buffer ??= ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkSize, _length));
        _buffered = 0;
        var command = _store.DataSource.CreateCommand(_store.Sql.ReadChunk);
        _record.AddKey(command.Parameters);
        command.Parameters.Add(new NpgsqlParameter<long>("chunk", NpgsqlDbType.Bigint) { TypedValue = chunk });
        command.Parameters.Add(new NpgsqlParameter<int>("from", NpgsqlDbType.Integer) { TypedValue = (int)(_position - chunk) + 1 });
        return (command, needed);
    }

    private void Fetched(int read, int needed)
    {
        if (read < needed)
        {
            throw Changed();
        }

        _bufferStart = _position;
        _buffered = read;
    }

    private ResponseStoreException Changed() =>
        new(
            ResponseStoreFailure.Deleted,
            _record.RegistrationKey,
            _record.RecordIndex,
            $"The body of record {_record.RecordIndex} of registration '{_record.RegistrationKey}' was deleted or cut while it was being read.");
}
