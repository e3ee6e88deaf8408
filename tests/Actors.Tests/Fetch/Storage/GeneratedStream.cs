namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>
/// A read-only stream of <c>length</c> deterministic pseudo-random bytes, computed from their position, so large
/// bodies can be written and checked without ever existing in memory.
/// </summary>
public sealed class GeneratedStream(long length, int seed = 0) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <summary>The byte at <paramref name="position"/> of a generated stream with <paramref name="seed"/>.</summary>
    public static byte ByteAt(long position, int seed = 0)
    {
        var x = (ulong)position * 0x9E3779B97F4A7C15UL + (ulong)seed;
        return (byte)(x >> 56 ^ x >> 29);
    }

    /// <summary>Generates bytes [<paramref name="from"/>, <paramref name="from"/> + <paramref name="count"/>) as an array, for small bodies.</summary>
    public static byte[] Bytes(long from, int count, int seed = 0)
    {
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
        {
            bytes[i] = ByteAt(from + i, seed);
        }

        return bytes;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < count; i++)
        {
            buffer[i] = ByteAt(_position + i, seed);
        }

        _position += count;
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
