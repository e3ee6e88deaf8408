namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// An open, stored response body: a seekable read-only <see cref="Content"/> stream for the HTTP layer's
/// range processing, or a bounded <see cref="OpenRange"/> view. Disposing it closes the file.
/// </summary>
public sealed class StoredBody : IAsyncDisposable, IDisposable
{
    private readonly Stream _content;

    /// <summary>Wraps an open, seekable, readable stream; the body takes ownership of it.</summary>
    public StoredBody(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanSeek || !content.CanRead)
        {
            throw new ArgumentException("A stored body needs a readable, seekable stream.", nameof(content));
        }

        _content = content;
        Length = content.Length;
    }

    /// <summary>The full stored length of the body in bytes, as of opening.</summary>
    public long Length { get; }

    /// <summary>
    /// The whole body, seekable, positioned at 0; suitable for <c>Results.Stream(..., enableRangeProcessing: true)</c>,
    /// which may dispose it. Shared with <see cref="OpenRange"/>: read through one of them at a time.
    /// </summary>
    public Stream Content => _content;

    /// <summary>Returns a read-only view of the bytes [<paramref name="from"/>, <paramref name="toInclusive"/>] of the body.</summary>
    /// <remarks>The view reads through <see cref="Content"/> and does not own it; dispose the <see cref="StoredBody"/> when done.</remarks>
    public Stream OpenRange(long from, long toInclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfLessThan(toInclusive, from);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(toInclusive, Length);
        _content.Seek(from, SeekOrigin.Begin);
        return new RangeStream(_content, toInclusive - from + 1);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _content.DisposeAsync();

    /// <inheritdoc />
    public void Dispose() => _content.Dispose();
}
