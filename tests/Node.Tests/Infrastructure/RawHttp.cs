using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>An HTTP/1.1 response as read off the wire.</summary>
public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>The media type of <c>Content-Type</c>, or null.</summary>
    public string? MediaType => Headers.TryGetValue("content-type", out var type) ? type.Split(';')[0].Trim() : null;

    /// <summary>The body as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// Sends one HTTP/1.1 request over a fresh TCP connection exactly as given: the method, the request
/// target (no normalization of '..' or escapes, unlike <see cref="HttpClient"/>), headers and body.
/// </summary>
public static class RawHttp
{
    /// <summary>Sends the request with <c>Connection: close</c> and reads the whole response.</summary>
    public static async Task<RawResponse> SendAsync(
        Uri server, string method, string target, IEnumerable<(string Name, string Value)> headers, byte[]? body, bool chunked, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port, cancellationToken);
        var stream = tcp.GetStream();
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        if (body is not null)
        {
            head.Append(chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {body.Length}\r\n");
        }

        head.Append("\r\n");
        try
        {
            await WriteAsync(stream, Encoding.UTF8.GetBytes(head.ToString()), body, chunked, cancellationToken);
        }
        catch (IOException)
        {
            // A server may refuse the request (and close) before it has read all of it; its answer is still there to read.
        }

        // The server may answer and close before it has read a large body; a reset after its answer is not an error.
        using var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, cancellationToken);
        }
        catch (IOException) when (received.Length > 0)
        {
        }

        return Parse(received.ToArray(), method);
    }

    /// <summary>Writes <paramref name="request"/> byte for byte (malformed framing included) and reads the answer.</summary>
    public static async Task<RawResponse> SendBytesAsync(Uri server, byte[] request, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port, cancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request, cancellationToken);
        using var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, cancellationToken);
        }
        catch (IOException) when (received.Length > 0)
        {
        }

        return Parse(received.ToArray(), Encoding.ASCII.GetString(request, 0, Math.Max(0, Array.IndexOf(request, (byte)' '))));
    }

    private static async Task WriteAsync(Stream stream, byte[] head, byte[]? body, bool chunked, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(head, cancellationToken);
        if (body is null)
        {
            return;
        }

        if (!chunked)
        {
            await stream.WriteAsync(body, cancellationToken);
            return;
        }

        // Several chunks, so a parser that only looks at the first buffer is caught too.
        for (var offset = 0; offset < body.Length; offset += 4096)
        {
            var count = Math.Min(4096, body.Length - offset);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(count.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
            await stream.WriteAsync(body.AsMemory(offset, count), cancellationToken);
            await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
        }

        await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), cancellationToken);
    }

    private static RawResponse Parse(byte[] bytes, string method)
    {
        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            throw new InvalidDataException($"No complete response head in {bytes.Length} bytes: '{Encoding.Latin1.GetString(bytes)}'.");
        }

        var lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = bytes.AsSpan(end + 4);
        if (method == "HEAD")
        {
            return new RawResponse(status, headers, []);
        }

        return headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase)
            ? new RawResponse(status, headers, Dechunk(body))
            : new RawResponse(status, headers, body.ToArray());
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> chunked)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n"u8);
            var size = int.Parse(Encoding.ASCII.GetString(chunked[..lineEnd]).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return body.ToArray();
            }

            body.Write(chunked.Slice(lineEnd + 2, size));
            chunked = chunked[(lineEnd + 2 + size + 2)..];
        }
    }
}
