using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>
/// A TCP proxy on loopback in front of PostgreSQL that stands in for a client process frozen by SIGSTOP: once a client
/// sends <see cref="FreezeOn"/>'s text (say, the second statement of a transaction), the proxy stops forwarding what
/// clients send, those bytes included, and opens no new connection to the server; the server's side stays open and idle,
/// as it does for a paused process. What the server sends still reaches the client (a paused process's socket buffers it).
/// </summary>
/// <remarks>Written here because no package freezes one direction of a real TCP connection on a condition.</remarks>
public sealed class FreezableTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly List<TcpClient> _sockets = [];
    private readonly TaskCompletionSource _frozen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;
    private byte[]? _marker;

    private FreezableTcpProxy(IPEndPoint server)
    {
        _server = server;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The loopback port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Completes when a client has sent the marker and the proxy froze.</summary>
    public Task Frozen => _frozen.Task;

    /// <summary>Starts a proxy to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public static async Task<FreezableTcpProxy> StartAsync(string host, int port)
    {
        var addresses = await Dns.GetHostAddressesAsync(host);
        return new FreezableTcpProxy(new IPEndPoint(addresses.First(static a => a.AddressFamily == AddressFamily.InterNetwork), port));
    }

    /// <summary>Freezes the proxy when a client next sends <paramref name="text"/> (UTF-8, within one read).</summary>
    public void FreezeOn(string text) => Volatile.Write(ref _marker, Encoding.UTF8.GetBytes(text));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        await Task.WhenAll([_accepting, .. _pumps]).ContinueWith(static _ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_sockets)
            {
                _sockets.Add(client);
                _pumps.Add(ConnectAsync(client));
            }
        }
    }

    private async Task ConnectAsync(TcpClient client)
    {
        // A frozen process opens nothing: the connection is accepted (by the kernel, as for a real listener) and left.
        await WaitWhileFrozenAsync();
        var server = new TcpClient();
        lock (_sockets)
        {
            _sockets.Add(server);
        }

        try
        {
            await server.ConnectAsync(_server, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            client.Dispose();
            return;
        }

        await Task.WhenAll(PumpAsync(client.GetStream(), server.GetStream(), fromClient: true), PumpAsync(server.GetStream(), client.GetStream(), fromClient: false));
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool fromClient)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    to.Socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (fromClient)
                {
                    var marker = Volatile.Read(ref _marker);
                    if (marker is not null && buffer.AsSpan(0, read).IndexOf(marker) >= 0)
                    {
                        _frozen.TrySetResult();
                    }

                    await WaitWhileFrozenAsync();
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The proxy stops, or one side went away: the other side sees its connection end when the proxy is disposed.
        }
    }

    /// <summary>Frozen for good: until the proxy is disposed, which cancels every wait.</summary>
    private async Task WaitWhileFrozenAsync()
    {
        if (_frozen.Task.IsCompleted)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }
    }
}
