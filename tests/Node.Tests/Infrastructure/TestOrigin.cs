using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A real Kestrel origin on a loopback port. <c>/files/{name}?size=N</c> serves N deterministic bytes
/// with an ETag and honours <c>Range</c>; <c>rate</c> throttles (bytes per second), <c>ignoreRange</c>
/// answers 200 to ranged requests, <c>status</c> sets the status. Every request is logged.
/// </summary>
public sealed class TestOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestOrigin(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The origin's base address, ending with '/'.</summary>
    public string BaseUrl { get; }

    /// <summary>Requests seen, in order: path and query, and the Range header if any.</summary>
    public ConcurrentQueue<(string PathAndQuery, string? Range)> Requests { get; } = new();

    /// <summary>Webhook deliveries received: the event id header and the body.</summary>
    public ConcurrentQueue<(string EventId, string Body)> Hooks { get; } = new();

    private int _hookAttempts;

    /// <summary>The byte at <paramref name="position"/> of every generated body.</summary>
    public static byte ByteAt(long position) => (byte)((position * 31 + 7) % 251);

    /// <summary>The SHA-256 (lowercase hex) of a generated body of <paramref name="size"/> bytes, streamed.</summary>
    public static string Sha256Of(long size)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        for (long offset = 0; offset < size; offset += buffer.Length)
        {
            var count = (int)Math.Min(buffer.Length, size - offset);
            Fill(buffer.AsSpan(0, count), offset);
            hash.AppendData(buffer, 0, count);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Starts an origin on <paramref name="host"/> (by default 127.0.0.1) and a free port.</summary>
    public static async Task<TestOrigin> StartAsync(string host = "127.0.0.1")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{host}:0");
        var app = builder.Build();
        TestOrigin? origin = null;
        app.Use(async (context, next) =>
        {
            origin!.Requests.Enqueue((context.Request.Path + context.Request.QueryString, context.Request.Headers.Range.FirstOrDefault()));
            await next(context);
        });
        app.MapGet("/files/{name}", (HttpContext context) => ServeAsync(context));
        app.MapPost("/hook", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var attempt = Interlocked.Increment(ref origin!._hookAttempts);
            origin.Hooks.Enqueue((context.Request.Headers["X-BgFetch-Event-Id"].ToString(), body));

            // The first delivery fails, so the node has to retry.
            context.Response.StatusCode = attempt == 1 ? 500 : 200;
        });
        app.MapMethods("/echo", ["POST", "PUT"], async (HttpContext context) =>
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Request.Body.CopyToAsync(context.Response.Body);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        origin = new TestOrigin(app, address.TrimEnd('/') + "/");
        return origin;
    }

    /// <summary>How many requests for <paramref name="name"/> carried a Range header.</summary>
    public int RangedRequestsFor(string name) => Requests.Count(r => r.PathAndQuery.StartsWith("/files/" + name, StringComparison.Ordinal) && r.Range is not null);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void Fill(Span<byte> target, long offset)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = ByteAt(offset + i);
        }
    }

    private static async Task ServeAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var size = long.Parse(query["size"].FirstOrDefault() ?? "1024", CultureInfo.InvariantCulture);
        var rate = long.Parse(query["rate"].FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);
        var status = int.Parse(query["status"].FirstOrDefault() ?? "200", CultureInfo.InvariantCulture);
        var ignoreRange = query.ContainsKey("ignoreRange");
        var etag = $"\"v1-{size}\"";
        long start = 0;
        context.Response.Headers.ETag = etag;
        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.ContentType = "application/octet-stream";
        var range = context.Request.Headers.Range.FirstOrDefault();
        if (!ignoreRange && status == 200 && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (start >= size)
            {
                context.Response.StatusCode = 416;
                context.Response.Headers.ContentRange = $"bytes */{size}";
                return;
            }

            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{size - 1}/{size}";
        }
        else
        {
            context.Response.StatusCode = status;
        }

        context.Response.ContentLength = size - start;
        var buffer = new byte[16 * 1024];
        var began = DateTime.UtcNow;
        for (var offset = start; offset < size;)
        {
            var count = (int)Math.Min(buffer.Length, size - offset);
            Fill(buffer.AsSpan(0, count), offset);
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, count), context.RequestAborted);
            offset += count;
            if (rate > 0)
            {
                // Throttle by schedule, not by fixed sleeps per chunk, so the rate holds on a slow machine.
                var due = began + TimeSpan.FromSeconds((double)(offset - start) / rate);
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, context.RequestAborted);
                }
            }
        }
    }
}
