using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using BgFetchCluster.Actors.Persistence;
using Microsoft.Win32.SafeHandles;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>Appends one record's body to its file while hashing it; created by <see cref="DiskResponseStore"/>.</summary>
/// <remarks>
/// States: Writable → Completed (CompleteAsync) → Disposed, or Writable → Faulted (a write or flush failed or was
/// cancelled midway, so the file and the hash may disagree) → Disposed. Only Writable accepts writes; a faulted
/// writer is reopened at the last checkpoint, which truncates whatever the failed write left behind.
/// <para>
/// A write or a buffer flush that a network volume fails for now (<see cref="StoreErrors.IsTransientFileError"/>) is
/// retried in place through the store's <see cref="StoreResilience"/>: each attempt writes what the file buffer holds
/// and then the chunk again from <see cref="Length"/>, the same bytes at the same offsets, so a partial write is
/// overwritten, never doubled, and the chunk is hashed once. The fsync of a checkpoint is not retried: after a failed
/// fsync Linux may already have dropped the dirty pages and a second one would report success for bytes that are lost,
/// so the writer faults (as <see cref="ResponseStoreFailure.Unavailable"/>) and the download reopens at the last
/// checkpoint, which writes them again. Neither are the aligned chunks past 8 MiB (O_DIRECT): their failure faults the
/// writer the same way.
/// </para>
/// </remarks>
internal sealed partial class DiskResponseBodyWriter : IResponseBodyWriter
{
    /// <summary>Chunks at least this large are hashed on another thread while they are written.</summary>
    private const int ParallelHashBytes = 64 * 1024;

    /// <summary>Writers open in this process (all stores): parallel hashing only pays while cores are idle.</summary>
    private static int _openWriterCount;

    private readonly FileStream _file;
    private readonly IncrementalHash _hash;
    private readonly string _registrationKey;
    private readonly int _recordIndex;
    private readonly Action _release;
    private readonly StoreResilience _resilience;
    private readonly long _openedAt;
    private WriterState _state = WriterState.Writable;
    private string? _digest;
    private long _writebackFrom;

    private DiskResponseBodyWriter(
        FileStream file, IncrementalHash hash, string registrationKey, int recordIndex, long length, Action release, StoreResilience resilience)
    {
        _resilience = resilience;
        _file = file;
        _hash = hash;
        _registrationKey = registrationKey;
        _recordIndex = recordIndex;
        _release = release;
        Length = length;
        _writebackFrom = length;
        _openedAt = length;
        Interlocked.Increment(ref _openWriterCount);
    }

    private enum WriterState
    {
        Writable,
        Faulted,
        Completed,
        Disposed,
    }

    /// <inheritdoc />
    public long Length { get; private set; }

    /// <summary>
    /// Opens the file at <paramref name="path"/>, truncates it to <paramref name="offset"/> and hashes that prefix;
    /// <paramref name="release"/> runs once when the writer is disposed, freeing the record for another writer (a failed
    /// open leaves that to the caller, which may try again). Writes retry through <paramref name="resilience"/>.
    /// </summary>
    public static async Task<DiskResponseBodyWriter> OpenAsync(
        string path,
        string registrationKey,
        int recordIndex,
        long offset,
        Action release,
        StoreResilience resilience,
        CancellationToken cancellationToken = default)
    {
        FileStream? file = null;
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            var options = new FileStreamOptions
            {
                // Resuming needs the prefix, so only a fresh start may create the file; a missing file at offset > 0
                // is a missing prefix, and must not leave an empty body behind for readers.
                Mode = offset == 0 ? FileMode.OpenOrCreate : FileMode.Open,
                Access = FileAccess.ReadWrite,
                Share = FileShare.Read | FileShare.Delete,
                BufferSize = DiskResponseStore.BufferSize,
                // Not Asynchronous: writes are synchronous page-cache copies (see WriteAsync).
                Options = FileOptions.SequentialScan,
            };
            try
            {
                file = new FileStream(path, options);
            }
            catch (Exception e) when (offset == 0 && e is DirectoryNotFoundException or FileNotFoundException)
            {
                // The prefix directory is made by the first body that needs it; trying the file first saves a mkdir
                // (which the kernel answers with EEXIST after a path walk) on every other one. A creating open can
                // only miss its directory: .NET reports FileNotFound instead when another writer made the directory
                // between the failed open and .NET's look at the parent.
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                file = new FileStream(path, options);
            }

            if (file.Length < offset)
            {
                throw MissingPrefix(registrationKey, recordIndex, offset, file.Length);
            }

            if (file.Length > offset)
            {
                // Bytes past the checkpoint were written but never journaled (a crash or a failed write); they are
                // downloaded again, so they must go.
                file.SetLength(offset);
            }

            await HashPrefixAsync(file, hash, registrationKey, recordIndex, offset, cancellationToken).ConfigureAwait(false);
            return new DiskResponseBodyWriter(file, hash, registrationKey, recordIndex, offset, release, resilience);
        }
        catch (Exception e)
        {
            hash.Dispose();
            if (file is not null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }

            if (e is FileNotFoundException or DirectoryNotFoundException && offset > 0)
            {
                throw MissingPrefix(registrationKey, recordIndex, offset, 0);
            }

            if (DiskErrors.IsStorageError(e))
            {
                throw DiskErrors.Translate(e, registrationKey, recordIndex, "open");
            }

            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        // Cancelled before anything was written: the writer stays usable.
        cancellationToken.ThrowIfCancellationRequested();
        if (data.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        // Pessimistic until the bytes are in the file buffer and the hash: a failure in between leaves the two out of
        // step.
        _state = WriterState.Faulted;
        if (_direct is not null || (Length - _openedAt >= DirectAfterBytes && TryStartDirect(ref data)))
        {
            return AppendDirectAsync(data);
        }

        // With as many bodies being written as there are cores, the cores are busy anyway and the hop only costs.
        if (data.Length < ParallelHashBytes || Volatile.Read(ref _openWriterCount) >= Environment.ProcessorCount)
        {
            if (TryWriteToFile(data.Span) is { } transient)
            {
                return RewriteThenAppendAsync(data, transient, cancellationToken);
            }

            _hash.AppendData(data.Span);
            Appended(data.Length);
            return ValueTask.CompletedTask;
        }

        return WriteAndHashAsync(data, cancellationToken);
    }

    /// <inheritdoc />
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
    public async ValueTask DisposeAsync()
    {
        if (_state == WriterState.Disposed)
        {
            return;
        }

        _state = WriterState.Disposed;
        try
        {
            // A chunk may still be on its way to the device (or in the hash): both must be done with it and the file.
            await ReleaseDirectAsync().ConfigureAwait(false);
            await _file.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            // Disposing flushes the buffer; if that fails the lost bytes were never checkpointed (CompleteAsync and
            // FlushToDiskAsync flush first and report their errors), so the next writer truncates them anyway.
        }
        finally
        {
            Interlocked.Decrement(ref _openWriterCount);
            _hash.Dispose();
            _release();
        }
    }

    private static async Task HashPrefixAsync(
        FileStream file, IncrementalHash hash, string registrationKey, int recordIndex, long offset, CancellationToken cancellationToken)
    {
        file.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(DiskResponseStore.BufferSize);
        try
        {
            var remaining = offset;
            while (remaining > 0)
            {
                var read = await file
                    .ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken)
                    .ConfigureAwait(false);
                if (read == 0)
                {
                    // Shrunk under us: no other writer can have it open here, but another process could.
                    throw MissingPrefix(registrationKey, recordIndex, offset, offset - remaining);
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ResponseStoreException MissingPrefix(string registrationKey, int recordIndex, long offset, long stored) =>
        new(
            ResponseStoreFailure.MissingPrefix,
            registrationKey,
            recordIndex,
            $"Cannot resume record {recordIndex} of registration '{registrationKey}' at byte {offset}: only {stored} bytes are stored.");

    /// <summary>
    /// A large chunk: SHA-256 runs on another thread while this one copies the chunk into the page cache (both only
    /// read it), so hashing no longer adds to the time per chunk when a core is free. Completes only when both are
    /// done: the caller reuses the buffer afterwards.
    /// </summary>
    private async ValueTask WriteAndHashAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var hashing = Task.Run(() => _hash.AppendData(data.Span));
        try
        {
            if (TryWriteToFile(data.Span) is { } transient)
            {
                await RewriteAsync(data, transient, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await hashing.ConfigureAwait(false);
        }

        Appended(data.Length);
    }

    /// <summary>
    /// Synchronous on purpose: a regular file's write only copies into the page cache (Writeback keeps the dirty
    /// pages few), while FileStream.WriteAsync on Linux queues that same synchronous write to the thread pool,
    /// costing two thread hops per chunk for nothing.
    /// </summary>
    /// <returns>Null when written; the error when the volume failed the write for now and the store retries.</returns>
    private ExceptionDispatchInfo? TryWriteToFile(ReadOnlySpan<byte> data)
    {
        try
        {
            _file.Write(data);
            return null;
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            var translated = DiskErrors.Translate(e, _registrationKey, _recordIndex, "write");
            if (translated.Failure == ResponseStoreFailure.Unavailable && _resilience.OutageTolerance > TimeSpan.Zero)
            {
                return ExceptionDispatchInfo.Capture(translated);
            }

            throw translated;
        }
    }

    /// <summary>Finishes a write that failed for now (<see cref="TryWriteToFile"/>) again, then hashes and counts it.</summary>
    private async ValueTask RewriteThenAppendAsync(ReadOnlyMemory<byte> data, ExceptionDispatchInfo transient, CancellationToken cancellationToken)
    {
        await RewriteAsync(data, transient, cancellationToken).ConfigureAwait(false);
        _hash.AppendData(data.Span);
        Appended(data.Length);
    }

    /// <summary>
    /// Writes <paramref name="data"/> again at <see cref="Length"/> through the store's retries, after the first attempt
    /// failed with <paramref name="transient"/>. The FileStream may hold part of the chunk in its buffer (it copies into
    /// the buffer before flushing a full one): moving the position writes the buffer where it belongs (a write that
    /// fails does not advance the file position), then the whole chunk is written from <see cref="Length"/> over
    /// whatever of it landed. The first failure is replayed as the pipeline's first outcome, so it waits, counts and
    /// reports like any failed round trip.
    /// </summary>
    private ValueTask RewriteAsync(ReadOnlyMemory<byte> data, ExceptionDispatchInfo transient, CancellationToken cancellationToken)
    {
        var first = transient;
        return _resilience.ExecuteAsync(
            _ =>
            {
                if (first is { } failed)
                {
                    first = null;
                    failed.Throw();
                }

                try
                {
                    _file.Position = Length;
                    _file.Write(data.Span);
                }
                catch (Exception e) when (DiskErrors.IsStorageError(e))
                {
                    throw DiskErrors.Translate(e, _registrationKey, _recordIndex, "write");
                }

                return ValueTask.CompletedTask;
            },
            cancellationToken);
    }

    private void Appended(int count)
    {
        Length += count;
        if (Length - _writebackFrom >= Writeback.Granularity)
        {
            StartWriteback();
        }

        _state = WriterState.Writable;
    }

    /// <summary>Hands what was appended since the last call to the device (see <see cref="Writeback"/>).</summary>
    private void StartWriteback()
    {
        SafeFileHandle handle;
        try
        {
            // The getter flushes the FileStream's buffer first (usually empty: chunks of its size bypass it), so
            // every appended byte is in the page cache.
            handle = _file.SafeFileHandle;
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, _registrationKey, _recordIndex, "write");
        }

        Writeback.Start(handle, _writebackFrom, Length - _writebackFrom);
        _writebackFrom = Length;
    }

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        _state = WriterState.Faulted;
        if (_direct is not null)
        {
            await DrainDirectAsync().ConfigureAwait(false);
        }

        try
        {
            // The buffer (at most 64 KiB) is written synchronously, like the chunks: a write that fails does not move
            // the file position, so an attempt again writes the same bytes at the same offset.
            await _resilience.ExecuteAsync(
                _ =>
                {
                    _file.Flush(flushToDisk: false);
                    return ValueTask.CompletedTask;
                },
                cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            // fsync has no asynchronous form; the buffer is already empty, so this only waits for the device. It
            // runs once per checkpoint, not per chunk, and is never retried (see the remarks).
            _file.Flush(flushToDisk: true);
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, _registrationKey, _recordIndex, "flush");
        }

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
                    _registrationKey,
                    _recordIndex,
                    $"An earlier write to record {_recordIndex} of registration '{_registrationKey}' failed; reopen it at the last checkpoint.");
            case WriterState.Completed:
                throw new InvalidOperationException("The body is complete; nothing more can be written.");
            default:
                throw new ObjectDisposedException(nameof(DiskResponseBodyWriter));
        }
    }
}
