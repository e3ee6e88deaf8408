using BgFetchCluster.Actors.Fetch.Storage;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// A stored body as the HTTP response streams it: when the body is deleted mid-stream (its registration released by a
/// racing DELETE, issue 19.3) the status line is long gone, so the response can only be cut short. This aborts the
/// connection quietly (the client sees fewer bytes than <c>Content-Length</c>, never other bytes) instead of letting the
/// failure surface as an unhandled error of the request.
/// </summary>
internal sealed class ReleasableBodyStream(Stream inner, HttpContext http) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (ResponseStoreException exception) when (exception.Failure == ResponseStoreFailure.Deleted)
        {
            throw Released();
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (ResponseStoreException exception) when (exception.Failure == ResponseStoreFailure.Deleted)
        {
            throw Released();
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Ends the exchange: a request whose connection is aborted ends without an error of the application.</summary>
    private OperationCanceledException Released()
    {
        http.Abort();
        return new OperationCanceledException("The body was deleted (its registration released) while it was being sent.", http.RequestAborted);
    }
}
