using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// A real Kestrel origin on 127.0.0.1 and a free port. <c>/files/{name}?size=N</c> serves N deterministic bytes with
/// an ETag and honours <c>Range: bytes=S-</c>; with <c>&amp;hold=K</c> it sends the first K bytes and then waits until
/// the test calls <see cref="Open"/> for that name, so a download stays in flight exactly as long as a test needs.
/// </summary>
internal sealed class LoopbackOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _aborted = new(StringComparer.Ordinal);

    private LoopbackOrigin(WebApplication app) => _app = app;

    /// <summary>The origin's base address, ending with '/'.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>Requests seen, in order: the file name and the Range header if any.</summary>
    public ConcurrentQueue<(string Name, string? Range)> Requests { get; } = new();

    /// <summary>The byte at <paramref name="position"/> of every generated body.</summary>
    public static byte ByteAt(long position) => (byte)((position * 31 + 7) % 251);

    /// <summary>The SHA-256 (lowercase hex) of a generated body of <paramref name="size"/> bytes.</summary>
    public static string Sha256Of(int size)
    {
        var body = new byte[size];
        for (var i = 0; i < size; i++)
        {
            body[i] = ByteAt(i);
        }

        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body));
    }

    public static async Task<LoopbackOrigin> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var origin = new LoopbackOrigin(app);
        app.MapGet("/files/{name}", (string name, HttpContext context) => origin.ServeAsync(name, context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        origin.BaseUrl = address.TrimEnd('/') + "/";
        return origin;
    }

    /// <summary>The address of <paramref name="name"/>: <paramref name="size"/> bytes, held after <paramref name="hold"/> if given.</summary>
    public string File(string name, long size, long? hold = null) =>
        $"{BaseUrl}files/{name}?size={size}" + (hold is { } at ? $"&hold={at}" : string.Empty);

    /// <summary>Lets held responses of <paramref name="name"/> (now and later) send the rest of their body.</summary>
    public void Open(string name) => Gate(name).TrySetResult();

    /// <summary>How many requests for <paramref name="name"/> arrived.</summary>
    public int RequestsFor(string name) => Requests.Count(r => r.Name == name);

    /// <summary>How many responses for <paramref name="name"/> the client gave up before their end (closed the connection).</summary>
    public int AbortedFor(string name) => _aborted.TryGetValue(name, out var count) ? count : 0;

    public async ValueTask DisposeAsync()
    {
        foreach (var gate in _gates.Values)
        {
            gate.TrySetResult();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private TaskCompletionSource Gate(string name) =>
        _gates.GetOrAdd(name, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task ServeAsync(string name, HttpContext context)
    {
        var range = context.Request.Headers.Range.FirstOrDefault();
        Requests.Enqueue((name, range));
        var size = long.Parse(context.Request.Query["size"].FirstOrDefault() ?? "1024", CultureInfo.InvariantCulture);
        var hold = context.Request.Query["hold"].FirstOrDefault() is { } held ? long.Parse(held, CultureInfo.InvariantCulture) : -1;
        long start = 0;
        context.Response.Headers.ETag = $"\"v1-{size}\"";
        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.ContentType = "application/octet-stream";
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            context.Response.StatusCode = StatusCodes.Status206PartialContent;
            context.Response.Headers.ContentRange = $"bytes {start}-{size - 1}/{size}";
        }

        context.Response.ContentLength = size - start;
        var buffer = new byte[16 * 1024];
        try
        {
            for (var offset = start; offset < size;)
            {
                if (offset == hold)
                {
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Gate(name).Task.WaitAsync(context.RequestAborted);
                }

                var end = hold > offset ? Math.Min(size, hold) : size;
                var count = (int)Math.Min(buffer.Length, end - offset);
                for (var i = 0; i < count; i++)
                {
                    buffer[i] = ByteAt(offset + i);
                }

                await context.Response.Body.WriteAsync(buffer.AsMemory(0, count), context.RequestAborted);
                offset += count;
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client closed the connection: a cancelled download looks like this from the origin.
            _aborted.AddOrUpdate(name, 1, static (_, count) => count + 1);
        }
    }
}
