// Small origins the bench needs and nginx cannot be: one that holds every answer until released (W5, the backlog),
// and one that drips a body at a known pace and writes down when each byte left (cross-node latency, failover).
// Raw HTTP/1.1 on a TcpListener: the node's fetcher is the only client, it sends GETs without bodies.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>One parsed request head.</summary>
internal sealed record RequestHead(string Method, string Path, long? RangeFrom, int ClientPort);

internal static class Http1
{
    /// <summary>Reads one request head (GET without a body); null when the client closed the connection.</summary>
    public static async Task<RequestHead?> ReadHeadAsync(Stream stream, int clientPort, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>(512);
        var one = new byte[1];
        while (true)
        {
            var n = await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return null;
            }

            bytes.Add(one[0]);
            var c = bytes.Count;
            if (c >= 4 && bytes[c - 4] == '\r' && bytes[c - 3] == '\n' && bytes[c - 2] == '\r' && bytes[c - 1] == '\n')
            {
                break;
            }
        }

        var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split("\r\n");
        var first = lines[0].Split(' ');
        long? rangeFrom = null;
        foreach (var line in lines.Skip(1))
        {
            if (line.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))
            {
                var v = line[6..].Trim();
                if (v.StartsWith("bytes=", StringComparison.Ordinal))
                {
                    rangeFrom = long.Parse(v[6..].Split('-')[0], CultureInfo.InvariantCulture);
                }
            }
        }

        return new RequestHead(first[0], first.Length > 1 ? first[1] : "/", rangeFrom, clientPort);
    }

    public static byte[] Head(int status, long length, string extra = "") =>
        Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {(status == 206 ? "Partial Content" : "OK")}\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\nETag: \"bench\"\r\nAccept-Ranges: bytes\r\n{extra}\r\n");

    /// <summary>Accepts connections until cancelled, running <paramref name="serve"/> on each.</summary>
    public static async Task AcceptLoopAsync(TcpListener listener, Func<NetworkStream, int, Task> serve, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            client.NoDelay = true;
            var port = ((IPEndPoint)client.Client.RemoteEndPoint!).Port;
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        await serve(client.GetStream(), port).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
                    {
                        // the node closed or died: nothing to answer
                    }
                }
            }, CancellationToken.None);
        }
    }
}

/// <summary>
/// W5's origin: accepts every request and answers none until <c>POST /__release</c>; after that it answers at once
/// with <c>size</c> bytes. <c>GET /__stats</c> answers "requests=N held=M answered=K".
/// </summary>
internal sealed class HoldOrigin(int size)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _body = Enumerable.Range(0, size).Select(static i => (byte)(i * 31)).ToArray();
    private int _requests;
    private int _held;
    private int _answered;

    public async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(4096);
        Console.Error.WriteLine($"hold origin on 127.0.0.1:{port}");
        await Http1.AcceptLoopAsync(listener, ServeAsync, cancellationToken).ConfigureAwait(false);
    }

    private async Task ServeAsync(NetworkStream stream, int clientPort)
    {
        while (await Http1.ReadHeadAsync(stream, clientPort, CancellationToken.None).ConfigureAwait(false) is { } head)
        {
            if (head.Path.StartsWith("/__release", StringComparison.Ordinal))
            {
                _released.TrySetResult();
                await WriteTextAsync(stream, "released").ConfigureAwait(false);
                continue;
            }

            if (head.Path.StartsWith("/__stats", StringComparison.Ordinal))
            {
                await WriteTextAsync(stream, FormattableString.Invariant($"requests={Volatile.Read(ref _requests)} held={Volatile.Read(ref _held)} answered={Volatile.Read(ref _answered)}")).ConfigureAwait(false);
                continue;
            }

            Interlocked.Increment(ref _requests);
            Interlocked.Increment(ref _held);
            try
            {
                await _released.Task.ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _held);
            }

            await stream.WriteAsync(Http1.Head(200, _body.Length)).ConfigureAwait(false);
            await stream.WriteAsync(_body).ConfigureAwait(false);
            Interlocked.Increment(ref _answered);
        }
    }

    private static async Task WriteTextAsync(Stream stream, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text + "\n");
        await stream.WriteAsync(Http1.Head(200, bytes.Length, "Connection: keep-alive\r\n")).ConfigureAwait(false);
        await stream.WriteAsync(bytes).ConfigureAwait(false);
    }
}

/// <summary>
/// Drips <c>/drip/&lt;key&gt;</c>: <c>chunks</c> chunks of <c>chunkSize</c> bytes, one every <c>interval</c>, and writes down
/// when each chunk has been handed to the kernel. A request with <c>Range: bytes=N-</c> (a resumed download) gets
/// everything up to the furthest byte already sent at once, then the drip goes on. It also records which client port
/// fetched each key, so that the node process behind it can be found (<see cref="SocketOwner"/>).
/// </summary>
internal sealed class DripOrigin(int chunkSize, int chunks, TimeSpan interval)
{
    private readonly byte[] _chunk = Enumerable.Range(0, chunkSize).Select(static i => (byte)(i * 7)).ToArray();

    public long Length => (long)chunkSize * chunks;

    /// <summary>Per key: (end offset of a chunk, Stopwatch timestamp when it was written).</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<(long End, long At)>> Sent { get; } = new();

    /// <summary>Per key: the furthest offset sent.</summary>
    public ConcurrentDictionary<string, long> HighWater { get; } = new();

    /// <summary>Per key: the client port of the latest request and when it arrived (Stopwatch timestamp).</summary>
    public ConcurrentDictionary<string, (int Port, long At, long? RangeFrom)> Latest { get; } = new();

    /// <summary>Per key: when its connection broke (the node went away), Stopwatch timestamp.</summary>
    public ConcurrentDictionary<string, long> Broken { get; } = new();

    public int Port { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(1024);
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return Http1.AcceptLoopAsync(listener, ServeAsync, cancellationToken);
    }

    /// <summary>The time (Stopwatch timestamp) at which byte offset <paramref name="end"/> (exclusive) had been sent, or null.</summary>
    public long? SentAt(string key, long end)
    {
        if (!Sent.TryGetValue(key, out var queue))
        {
            return null;
        }

        long? best = null;
        foreach (var (e, at) in queue)
        {
            if (e >= end && (best is null || at < best))
            {
                best = at;
            }
        }

        return best;
    }

    private async Task ServeAsync(NetworkStream stream, int clientPort)
    {
        while (await Http1.ReadHeadAsync(stream, clientPort, CancellationToken.None).ConfigureAwait(false) is { } head)
        {
            var key = head.Path.TrimStart('/').Replace("drip/", "", StringComparison.Ordinal);
            Latest[key] = (clientPort, Stopwatch.GetTimestamp(), head.RangeFrom);
            var from = head.RangeFrom ?? 0;
            var queue = Sent.GetOrAdd(key, static _ => new ConcurrentQueue<(long, long)>());
            try
            {
                await stream.WriteAsync(from > 0
                    ? Http1.Head(206, Length - from, FormattableString.Invariant($"Content-Range: bytes {from}-{Length - 1}/{Length}\r\n"))
                    : Http1.Head(200, Length)).ConfigureAwait(false);
                var offset = from;
                var catchUp = HighWater.GetValueOrDefault(key);
                while (offset < Length)
                {
                    var n = (int)Math.Min(chunkSize - (offset % chunkSize), Length - offset);
                    await stream.WriteAsync(_chunk.AsMemory(0, n)).ConfigureAwait(false);
                    offset += n;
                    queue.Enqueue((offset, Stopwatch.GetTimestamp()));
                    HighWater.AddOrUpdate(key, offset, (_, old) => Math.Max(old, offset));
                    if (offset > catchUp)
                    {
                        await Task.Delay(interval).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                Broken[key] = Stopwatch.GetTimestamp();
                throw;
            }
        }
    }
}

/// <summary>Which process owns the other end of a loopback TCP connection: /proc/net/tcp and /proc/&lt;pid&gt;/fd.</summary>
internal static class SocketOwner
{
    /// <summary>The pid (of <paramref name="pids"/>) holding the socket whose local port is <paramref name="port"/>, or 0.</summary>
    public static int Find(int port, IReadOnlyList<int> pids)
    {
        var inode = InodeOfLocalPort(port);
        if (inode is null)
        {
            return 0;
        }

        var target = $"socket:[{inode}]";
        foreach (var pid in pids)
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    var link = new FileInfo(fd).LinkTarget;
                    if (link == target)
                    {
                        return pid;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the process went away
            }
        }

        return 0;
    }

    private static string? InodeOfLocalPort(int port)
    {
        var hex = port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address is "0100007F:PORT"; field 9 is the inode
                if (parts.Length > 9 && parts[1].EndsWith(":" + hex, StringComparison.Ordinal) && parts[9] != "0")
                {
                    return parts[9];
                }
            }
        }

        return null;
    }
}
