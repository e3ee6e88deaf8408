using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A real Kestrel origin on loopback that misbehaves on purpose. Every endpoint is
/// <c>/{behaviour}/{name}</c>; <c>name</c> keys the attempt counter, so each test uses its own.
/// Bodies are <see cref="TestOrigin.ByteAt"/> bytes (a changed resource adds one to each byte).
/// </summary>
public sealed class HostileOrigin : IAsyncDisposable
{
    /// <summary>The gzip-encoded body <c>/gzip</c> sends.</summary>
    public static readonly byte[] GzipBody = Gzip(Enumerable.Range(0, 20_000).Select(i => TestOrigin.ByteAt(i)).ToArray());

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);
    private int _inFlight;
    private int _maxInFlight;

    private readonly System.Net.Sockets.TcpListener _raw = new(System.Net.IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private Task _rawLoop = Task.CompletedTask;
    private int _rawAttempts;

    private HostileOrigin(WebApplication app) => _app = app;

    /// <summary>
    /// A raw socket origin that always promises 50,000 bytes (<c>Content-Length</c>), sends 20,000 and
    /// closes the connection in order (FIN): the early close Kestrel cannot be made to do.
    /// </summary>
    public string RawShortUrl => $"http://127.0.0.1:{((System.Net.IPEndPoint)_raw.LocalEndpoint).Port}/raw-short";

    /// <summary>Connections the raw origin answered.</summary>
    public int RawAttempts => Volatile.Read(ref _rawAttempts);

    /// <summary>The base address, ending with '/'.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The port it listens on.</summary>
    public int Port => new Uri(BaseUrl).Port;

    /// <summary>Requests seen, in order: path and the Range and If-Range headers.</summary>
    public ConcurrentQueue<(string Path, string? Range, string? IfRange, DateTime At)> Requests { get; } = new();

    /// <summary>Distinct connections that carried requests.</summary>
    public int Connections => _connections.Count;

    /// <summary>Most requests in flight at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Requests the origin saw for <paramref name="name"/> (any behaviour).</summary>
    public int AttemptsFor(string name) => _attempts.GetValueOrDefault(name);

    /// <summary>Starts an origin on 127.0.0.1 and a free port.</summary>
    public static async Task<HostileOrigin> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.RequestHeaderEncodingSelector = static _ => System.Text.Encoding.Latin1);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var origin = new HostileOrigin(app);
        app.Use(async (context, next) =>
        {
            origin._connections.TryAdd(context.Connection.Id, 0);
            var now = Interlocked.Increment(ref origin._inFlight);
            for (var max = origin.MaxInFlight; now > max; max = origin.MaxInFlight)
            {
                Interlocked.CompareExchange(ref origin._maxInFlight, now, max);
            }

            origin.Requests.Enqueue((context.Request.Path, context.Request.Headers.Range.FirstOrDefault(), context.Request.Headers.IfRange.FirstOrDefault(), DateTime.UtcNow));
            try
            {
                await next(context);
            }
            finally
            {
                Interlocked.Decrement(ref origin._inFlight);
            }
        });
        app.MapMethods("/{behaviour}/{name}", ["GET", "POST", "PUT"], (string behaviour, string name, HttpContext context) =>
            origin.ServeAsync(behaviour, name, origin._attempts.AddOrUpdate(name, 1, static (_, n) => n + 1), context));
        await app.StartAsync();
        origin._raw.Start();
        origin._rawLoop = origin.ServeRawAsync();
        origin.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/";
        return origin;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _raw.Stop();
        await _rawLoop.ContinueWith(static _ => { }, TaskScheduler.Default);
        _stopping.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ServeRawAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            using var socket = await _raw.AcceptSocketAsync(_stopping.Token);
            Interlocked.Increment(ref _rawAttempts);
            using var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, leaveOpen: true);
            while (!string.IsNullOrEmpty(await reader.ReadLineAsync(_stopping.Token)))
            {
                // The request head; the answer does not depend on it.
            }

            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000\r\n\r\n"u8.ToArray(), _stopping.Token);
            await stream.WriteAsync(Bytes(0, 20000, 1), _stopping.Token);
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        }
    }

    /// <summary>
    /// The bytes the peer has acknowledged on the request's connection (<c>tcpi_bytes_acked</c> of Linux's
    /// <c>TCP_INFO</c>, at offset 120 of <c>struct tcp_info</c>). No .NET API exposes it.
    /// </summary>
    private static long AckedBytes(HttpContext context)
    {
        var socket = context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()?.Socket
            ?? throw new InvalidOperationException("The origin needs Kestrel's socket transport to see what the peer acknowledged.");
        Span<byte> info = stackalloc byte[232];
        var length = socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
        return length >= 128
            ? System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(info[120..])
            : throw new PlatformNotSupportedException("TCP_INFO has no tcpi_bytes_acked on this kernel.");
    }

    /// <summary>
    /// Waits until the peer's kernel has acknowledged <paramref name="total"/> bytes of the connection. A reset
    /// that follows then takes no body byte with it: Kestrel drops what its output pipe has not written yet,
    /// and the sender's kernel drops what the peer has not acknowledged, so without this wait a reset can leave
    /// the client with none of the bytes the origin "sent". Linux still hands data the receiver acknowledged
    /// to its reader before the reset's error.
    /// </summary>
    private static async Task WaitUntilAckedAsync(HttpContext context, long total, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (AckedBytes(context) < total)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The peer acknowledged {AckedBytes(context)} of {total} bytes within 30 s.");
            }

            await Task.Delay(5, cancellationToken);
        }
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static long Number(HttpContext context, string key, long fallback) =>
        context.Request.Query.TryGetValue(key, out var value) ? long.Parse(value.ToString(), CultureInfo.InvariantCulture) : fallback;

    private async Task ServeAsync(string behaviour, string name, int attempt, HttpContext context)
    {
        var size = Number(context, "size", 64 * 1024);
        var aborted = context.RequestAborted;
        switch (behaviour)
        {
            case "ok":
                // Serves the body; honours Range unless told to ignore it.
                await ServeBodyAsync(context, size, version: 1, honourRange: !context.Request.Query.ContainsKey("ignoreRange"), stopAfter: null);
                return;

            case "stall-headers":
                // Accepts the request and never answers.
                await Task.Delay(Timeout.Infinite, aborted);
                return;

            case "stall-body":
                // Headers and the first bytes, then nothing, forever; `chunked` leaves the length unsaid.
                await ServeBodyAsync(context, size, version: 1, honourRange: true, stopAfter: Number(context, "after", 1000), sayLength: !context.Request.Query.ContainsKey("chunked"));
                await context.Response.Body.FlushAsync(aborted);
                await Task.Delay(Timeout.Infinite, aborted);
                return;

            case "drip":
                // One byte per interval, with an honest Content-Length.
                context.Response.ContentLength = size;
                for (long i = 0; i < size; i++)
                {
                    await context.Response.Body.WriteAsync(new[] { TestOrigin.ByteAt(i) }, aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    await Task.Delay(TimeSpan.FromMilliseconds(Number(context, "interval", 1000)), aborted);
                }

                return;

            case "reset":
                // The first `resets` attempts die mid-body with a connection reset; later ones serve normally.
                if (attempt <= Number(context, "resets", 1))
                {
                    var acked = AckedBytes(context);
                    var after = Number(context, "after", size / 2);
                    await ServeBodyAsync(context, size, version: 1, honourRange: true, stopAfter: after);
                    await context.Response.Body.FlushAsync(aborted);
                    await WaitUntilAckedAsync(context, acked + after, aborted);
                    context.Abort();
                    return;
                }

                await ServeBodyAsync(context, size, version: 1, honourRange: !context.Request.Query.ContainsKey("ignoreRange"), stopAfter: null);
                return;

            case "short":
                // Always promises `size` bytes and sends `send`, then ends the response: a lie about the length.
                context.Response.ContentLength = size;
                await context.Response.Body.WriteAsync(Bytes(0, Number(context, "send", size / 2), 1), aborted);
                await context.Response.Body.FlushAsync(aborted);
                context.Abort();
                return;

            case "endless":
                // A chunked body that never ends.
                var chunk = Bytes(0, 16 * 1024, 1);
                while (!aborted.IsCancellationRequested)
                {
                    await context.Response.Body.WriteAsync(chunk, aborted);
                }

                return;

            case "loop":
                context.Response.StatusCode = 302;
                context.Response.Headers.Location = $"/loop/{name}";
                return;

            case "redirect":
                context.Response.StatusCode = (int)Number(context, "status", 302);
                context.Response.Headers.Location = context.Request.Query["to"].ToString();
                return;

            case "busy":
                // The first `times` attempts answer `status` with Retry-After; then the body.
                if (attempt <= Number(context, "times", 1))
                {
                    context.Response.StatusCode = (int)Number(context, "status", 503);
                    context.Response.Headers.RetryAfter = Number(context, "retryAfter", 1).ToString(CultureInfo.InvariantCulture);
                    await context.Response.WriteAsync("busy", aborted);
                    return;
                }

                await ServeBodyAsync(context, size, version: 1, honourRange: true, stopAfter: null);
                return;

            case "etag-change":
                // Attempt 1: version 1, stalling mid-body (so the node keeps every byte sent and times out).
                // Later: version 2 with a new ETag; `mode=ignoreIfRange` answers the resume with a 206 of
                // the new version, otherwise If-Range is honoured (a full 200).
                if (attempt == 1)
                {
                    await ServeBodyAsync(context, size, version: 1, honourRange: true, stopAfter: size / 2);
                    await context.Response.Body.FlushAsync(aborted);
                    await Task.Delay(Timeout.Infinite, aborted);
                    return;
                }

                var ignoreIfRange = context.Request.Query["mode"] == "ignoreIfRange";
                var ifRange = context.Request.Headers.IfRange.ToString();
                var rangeValid = ignoreIfRange || ifRange.Length == 0 || ifRange == ETag(2, size);
                await ServeBodyAsync(context, size, version: 2, honourRange: rangeValid, stopAfter: null);
                return;

            case "gzip":
                // Content-Encoding: gzip although the request said identity.
                context.Response.Headers.ContentEncoding = "gzip";
                context.Response.ContentType = "application/octet-stream";
                context.Response.ContentLength = GzipBody.Length;
                await context.Response.Body.WriteAsync(GzipBody, aborted);
                return;

            case "header":
                // The X-Probe request header's value, as the bytes that came on the wire (Latin-1).
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(System.Text.Encoding.Latin1.GetBytes(context.Request.Headers["X-Probe"].ToString()), aborted);
                return;

            case "echo":
                context.Response.ContentType = "application/octet-stream";
                await context.Request.Body.CopyToAsync(context.Response.Body, aborted);
                return;

            default:
                context.Response.StatusCode = 404;
                return;
        }
    }

    private static string ETag(int version, long size) => $"\"v{version}-{size}\"";

    private static byte[] Bytes(long from, long count, int version)
    {
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
        {
            bytes[i] = (byte)(TestOrigin.ByteAt(from + i) + version - 1);
        }

        return bytes;
    }

    /// <summary>The body of version <paramref name="version"/>, from a Range start if honoured; stops after <paramref name="stopAfter"/> bytes if given.</summary>
    private static async Task ServeBodyAsync(HttpContext context, long size, int version, bool honourRange, long? stopAfter, bool sayLength = true)
    {
        var response = context.Response;
        response.Headers.ETag = ETag(version, size);
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        long start = 0;
        var range = context.Request.Headers.Range.ToString();
        if (honourRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (start >= size)
            {
                response.StatusCode = 416;
                response.Headers.ContentRange = $"bytes */{size}";
                return;
            }

            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{size - 1}/{size}";
        }

        if (sayLength)
        {
            response.ContentLength = size - start;
        }

        var end = stopAfter is { } stop ? Math.Min(size, start + stop) : size;
        for (var offset = start; offset < end;)
        {
            var count = Math.Min(16 * 1024, end - offset);
            await response.Body.WriteAsync(Bytes(offset, count, version), context.RequestAborted);
            offset += count;
        }
    }

    /// <summary>The SHA-256 of version <paramref name="version"/> of a body of <paramref name="size"/> bytes.</summary>
    public static string Sha256Of(long size, int version = 1) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Bytes(0, size, version)));
}
