using System.Buffers;
using System.Security.Cryptography;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// Keeps a body of at most <c>limit</c> bytes in memory, to be journaled with the record's settlement instead of
/// stored as a file; a body that outgrows the limit, or must be made durable before it ends (a checkpoint), moves
/// to the store's own writer and continues there.
/// </summary>
/// <remarks>
/// <para>
/// A small body's own file costs more than its bytes: an inode, a directory entry and an fsync, which for 1 KiB
/// bodies was most of a registration's cost on the node. Journaled inline, its bytes become durable in the same
/// commit as the record's outcome, so nothing is lost that a file would have kept: before that commit a crash
/// restarts the record from byte 0 either way, because no checkpoint was journaled.
/// </para>
/// <para>
/// States: Buffering → (Spilled: every call goes to the store's writer) → Completed → Disposed. Only a writer that
/// was never spilled has inline bytes (<see cref="CopyInlineBody"/>); an empty body is inline too, and needs no file.
/// </para>
/// </remarks>
internal sealed class InlineBodyWriter : IResponseBodyWriter
{
    private readonly int _limit;
    private readonly Func<CancellationToken, Task<IResponseBodyWriter>> _openStoreWriter;
    private byte[]? _buffer;
    private IResponseBodyWriter? _spilled;
    private string? _digest;
    private bool _disposed;

    /// <summary>
    /// A writer at offset 0 that buffers up to <paramref name="limit"/> bytes; <paramref name="openStoreWriter"/>
    /// opens the store's writer at offset 0 when the body has to move there.
    /// </summary>
    public InlineBodyWriter(int limit, Func<CancellationToken, Task<IResponseBodyWriter>> openStoreWriter)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentNullException.ThrowIfNull(openStoreWriter);
        _limit = limit;
        _openStoreWriter = openStoreWriter;
    }

    /// <inheritdoc />
    public long Length => _spilled?.Length ?? BufferedLength;

    /// <summary>Whether the body has moved to the store's writer.</summary>
    public bool Spilled => _spilled is not null;

    private int BufferedLength { get; set; }

    /// <summary>
    /// A copy of the bytes held in memory (the whole body once completed, or what arrived before a failure), or
    /// <see langword="null"/> once the body has moved to the store, which then has them.
    /// </summary>
    public byte[]? CopyInlineBody()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _spilled is not null ? null : _buffer is null ? [] : _buffer.AsSpan(0, BufferedLength).ToArray();
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        if (_spilled is not null)
        {
            return _spilled.WriteAsync(data, cancellationToken);
        }

        if ((long)BufferedLength + data.Length > _limit)
        {
            return SpillThenWriteAsync(data, cancellationToken);
        }

        _buffer ??= ArrayPool<byte>.Shared.Rent(_limit);
        data.Span.CopyTo(_buffer.AsSpan(BufferedLength));
        BufferedLength += data.Length;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public Memory<byte> GetAppendBuffer() => _spilled?.GetAppendBuffer() ?? Memory<byte>.Empty;

    /// <inheritdoc />
    public ValueTask AdvanceAsync(int count, CancellationToken cancellationToken = default) =>
        _spilled?.AdvanceAsync(count, cancellationToken)
        ?? throw new InvalidOperationException("Nothing was handed out to advance over: a buffering inline writer offers no append buffer.");

    /// <inheritdoc />
    /// <remarks>A checkpoint needs the bytes on disk, where a resume reads them back: the body moves to the store first.</remarks>
    public async Task FlushToDiskAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var writer = _spilled ?? await SpillAsync(cancellationToken).ConfigureAwait(false);
        await writer.FlushToDiskAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<string> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_digest is null)
        {
            _digest = _spilled is not null
                ? await _spilled.CompleteAsync(cancellationToken).ConfigureAwait(false)
                : Convert.ToHexStringLower(SHA256.HashData(_buffer.AsSpan(0, BufferedLength)));
        }

        return _digest;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        ReturnBuffer();
        if (_spilled is not null)
        {
            await _spilled.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask SpillThenWriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var writer = await SpillAsync(cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens the store's writer (which truncates whatever an earlier attempt left) and hands it the buffered bytes.</summary>
    private async Task<IResponseBodyWriter> SpillAsync(CancellationToken cancellationToken)
    {
        var writer = await _openStoreWriter(cancellationToken).ConfigureAwait(false);
        try
        {
            if (BufferedLength > 0)
            {
                await writer.WriteAsync(_buffer.AsMemory(0, BufferedLength), cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _spilled = writer;
        ReturnBuffer();
        return writer;
    }

    private void ThrowIfClosed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_digest is not null)
        {
            throw new InvalidOperationException("The body is complete: no writes may follow.");
        }
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
