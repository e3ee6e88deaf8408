using Microsoft.Win32.SafeHandles;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>Direct mode: a large body's bytes go to the device in aligned chunks, written behind the download.</summary>
/// <remarks>
/// <para>
/// A body starts buffered (page cache plus <see cref="Writeback"/>); once <see cref="DirectAfterBytes"/> have been
/// appended, the writer pads to the next <see cref="DirectIo.Alignment"/> boundary with a buffered write and switches
/// its descriptor to <c>O_DIRECT</c>. From there bytes are copied into one of two aligned chunks. A full chunk is
/// handed to a thread-pool thread that writes it (and, when a core is idle, hashed on another) while the download
/// fills the other chunk; before a chunk is filled again its write has finished, so there is at most one write in
/// flight and memory stays at two chunks per large body.
/// </para>
/// <para>
/// Invariants: <c>_fillingBase</c> is aligned; <c>_fillingBase + _fillingCount == Length</c>; every byte before
/// <c>_fillingBase</c> is in the file or in the write in flight; bytes [0, <c>_hashedCount</c>) of the filling chunk
/// are already in the hash (a tail kept after a flush). A flush waits for the write in flight, writes the whole
/// blocks of the filling chunk directly and the unaligned tail through the page cache (O_DIRECT turned off for that
/// one write), then keeps the tail at the start of the chunk: its block is written again, whole, by the next chunk.
/// </para>
/// </remarks>
internal sealed partial class DiskResponseBodyWriter
{
    /// <summary>Bytes appended buffered before a body switches to direct writes: small bodies never pay for a chunk.</summary>
    internal const long DirectAfterBytes = 8L * 1024 * 1024;

    private SafeFileHandle? _direct;
    private byte[]? _fillingArray;
    private byte[]? _spareArray;
    private Memory<byte> _filling;
    private Memory<byte> _spare;
    private long _fillingBase;
    private int _fillingCount;
    private int _hashedCount;
    private Task _inFlight = Task.CompletedTask;

    /// <summary>Set once O_DIRECT failed for this file: everything from then on goes through the page cache.</summary>
    private bool _bufferedOnly;

    /// <summary>
    /// Switches to direct mode: writes the bytes of <paramref name="data"/> up to the next aligned offset buffered and
    /// leaves the rest in <paramref name="data"/>. False (and the writer stays buffered) when the switch is not possible.
    /// </summary>
    private bool TryStartDirect(ref ReadOnlyMemory<byte> data)
    {
        if (_bufferedOnly || !DirectIo.MayBeAvailable)
        {
            return false;
        }

        var pad = (int)((DirectIo.Alignment - (Length % DirectIo.Alignment)) % DirectIo.Alignment);
        if (pad > data.Length)
        {
            // Not yet at a boundary with this chunk: stay buffered and try again with the next one.
            return false;
        }

        if (pad > 0)
        {
            // The switch to direct mode is not retried in place (a transient error faults the writer; see the remarks).
            TryWriteToFile(data.Span[..pad])?.Throw();
            _hash.AppendData(data.Span[..pad]);
            Length += pad;
            data = data[pad..];
        }

        SafeFileHandle handle;
        try
        {
            // Empties the FileStream's buffer into the page cache; the FileStream writes nothing after this.
            _file.Flush();
            handle = _file.SafeFileHandle;
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, _registrationKey, _recordIndex, "write");
        }

        Writeback.Start(handle, _writebackFrom, Length - _writebackFrom);
        _writebackFrom = Length;
        if (!DirectIo.TrySet(handle, direct: true))
        {
            _bufferedOnly = true;
            return false;
        }

        _direct = handle;
        _fillingArray = DirectIo.RentChunk();
        _spareArray = DirectIo.RentChunk();
        _filling = DirectIo.Aligned(_fillingArray);
        _spare = DirectIo.Aligned(_spareArray);
        _fillingBase = Length;
        _fillingCount = 0;
        _hashedCount = 0;
        return true;
    }

    /// <inheritdoc />
    public Memory<byte> GetAppendBuffer() =>
        _direct is not null && _state == WriterState.Writable ? _filling[_fillingCount..] : Memory<byte>.Empty;

    /// <inheritdoc />
    public ValueTask AdvanceAsync(int count, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        cancellationToken.ThrowIfCancellationRequested();
        if (_direct is null || (uint)count > (uint)(_filling.Length - _fillingCount))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "More bytes than the append buffer held, or no append buffer was handed out.");
        }

        _state = WriterState.Faulted;
        _fillingCount += count;
        Length += count;
        if (_fillingCount < _filling.Length)
        {
            _state = WriterState.Writable;
            return ValueTask.CompletedTask;
        }

        return SubmitFullChunkAsync();
    }

    /// <summary>Copies <paramref name="data"/> into the filling chunk, handing each full chunk to the device.</summary>
    private async ValueTask AppendDirectAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var count = Math.Min(data.Length, _filling.Length - _fillingCount);
            data.Span[..count].CopyTo(_filling.Span[_fillingCount..]);
            _fillingCount += count;
            Length += count;
            data = data[count..];
            if (_fillingCount == _filling.Length)
            {
                await SubmitChunkAsync().ConfigureAwait(false);
            }
        }

        _state = WriterState.Writable;
    }

    private async ValueTask SubmitFullChunkAsync()
    {
        await SubmitChunkAsync().ConfigureAwait(false);
        _state = WriterState.Writable;
    }

    /// <summary>Starts writing (and hashing) the full filling chunk behind the download and swaps in the other chunk.</summary>
    private async ValueTask SubmitChunkAsync()
    {
        // The other chunk's write (and hash, which keeps the hash in byte order) must be done before it is reused.
        await WaitInFlightAsync().ConfigureAwait(false);
        var chunk = _filling;
        var offset = _fillingBase;
        var unhashed = chunk[_hashedCount..];
        (_filling, _spare) = (_spare, _filling);
        (_fillingArray, _spareArray) = (_spareArray, _fillingArray);
        _fillingBase += chunk.Length;
        _fillingCount = 0;
        _hashedCount = 0;

        var write = Task.Run(() => WriteChunk(chunk, offset));
        if (Volatile.Read(ref _openWriterCount) >= Environment.ProcessorCount)
        {
            // Every core has a body to copy: hashing here costs no more than elsewhere and saves a thread hop.
            _hash.AppendData(unhashed.Span);
            _inFlight = write;
        }
        else
        {
            _inFlight = Task.WhenAll(write, Task.Run(() => _hash.AppendData(unhashed.Span)));
        }
    }

    /// <summary>Waits for the write in flight; its failure faults the writer (the caller's state is already Faulted).</summary>
    private async Task WaitInFlightAsync()
    {
        var inFlight = _inFlight;
        _inFlight = Task.CompletedTask;
        try
        {
            await inFlight.ConfigureAwait(false);
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, _registrationKey, _recordIndex, "write");
        }
    }

    /// <summary>Writes one aligned run directly; if the file system refuses direct writes, falls back to the page cache for good.</summary>
    private void WriteChunk(ReadOnlyMemory<byte> chunk, long offset)
    {
        if (!_bufferedOnly)
        {
            try
            {
                RandomAccess.Write(_direct!, chunk.Span, offset);
                return;
            }
            catch (IOException) when (DirectIo.TrySet(_direct!, direct: false))
            {
                // EINVAL and the like from a file system that accepts O_DIRECT but not these writes: the buffered
                // write below either works or reports the real error.
                _bufferedOnly = true;
            }
        }

        RandomAccess.Write(_direct!, chunk.Span, offset);
        Writeback.Start(_direct!, offset, chunk.Length);
    }

    /// <summary>Puts every appended byte into the file (not yet durable) and the hash; the caller fsyncs.</summary>
    private async Task DrainDirectAsync()
    {
        await WaitInFlightAsync().ConfigureAwait(false);
        if (_hashedCount < _fillingCount)
        {
            _hash.AppendData(_filling.Span[_hashedCount.._fillingCount]);
            _hashedCount = _fillingCount;
        }

        var whole = _fillingCount & ~(DirectIo.Alignment - 1);
        try
        {
            if (whole > 0)
            {
                WriteChunk(_filling[..whole], _fillingBase);
            }

            var tail = _fillingCount - whole;
            if (tail > 0)
            {
                WriteTail(_filling.Span[whole.._fillingCount], _fillingBase + whole);
            }
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, _registrationKey, _recordIndex, "write");
        }

        if (whole > 0)
        {
            // Keep the tail at the start of the chunk: the next full chunk writes its block again, whole.
            _filling.Span[whole.._fillingCount].CopyTo(_filling.Span);
            _fillingBase += whole;
            _fillingCount -= whole;
            _hashedCount = _fillingCount;
        }
    }

    /// <summary>Writes an unaligned tail through the page cache: O_DIRECT is off for this one write.</summary>
    private void WriteTail(ReadOnlySpan<byte> tail, long offset)
    {
        if (_bufferedOnly)
        {
            RandomAccess.Write(_direct!, tail, offset);
            return;
        }

        if (!DirectIo.TrySet(_direct!, direct: false))
        {
            throw new IOException("Could not turn off O_DIRECT to write the unaligned tail of the body.");
        }

        RandomAccess.Write(_direct!, tail, offset);
        if (!DirectIo.TrySet(_direct!, direct: true))
        {
            _bufferedOnly = true;
        }
    }

    /// <summary>Waits for the write in flight whatever its outcome and gives the chunks back; on disposal only.</summary>
    private async Task ReleaseDirectAsync()
    {
        try
        {
            await _inFlight.ConfigureAwait(false);
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            // Never checkpointed: the next writer truncates to the last checkpoint.
        }

        _inFlight = Task.CompletedTask;
        if (_fillingArray is not null)
        {
            DirectIo.Return(_fillingArray);
            _fillingArray = null;
        }

        if (_spareArray is not null)
        {
            DirectIo.Return(_spareArray);
            _spareArray = null;
        }
    }
}
