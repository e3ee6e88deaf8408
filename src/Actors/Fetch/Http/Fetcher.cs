using System.Net;
using System.Net.Sockets;

namespace BgFetchCluster.Actors.Fetch.Http;

/// <summary>
/// The node's one HTTP client for records: a single <see cref="SocketsHttpHandler"/> whose
/// <c>ConnectCallback</c> resolves the host itself and connects only to an allowed address, so DNS
/// rebinding cannot slip past the check and every redirect hop is checked again.
/// </summary>
public sealed class Fetcher : IDisposable
{
    private readonly HttpClient _client;

    /// <summary>Creates the handler and client from <paramref name="options"/>.</summary>
    public Fetcher(FetchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        var handler = new SocketsHttpHandler
        {
            // Byte offsets and counts must be those of the stored body: no transparent decompression.
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 20,
            ConnectTimeout = options.ConnectTimeout,
            MaxConnectionsPerServer = options.MaxConnectionsPerServer,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseCookies = false,
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, options.AllowPrivateNetworks, cancellationToken),
        };
        _client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The options the fetcher enforces.</summary>
    public FetchOptions Options { get; }

    /// <summary>Sends a request and returns once the response headers are in; the body is read as a stream.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.AcceptEncoding.Clear();
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
        return _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = allowPrivate ? addresses : Array.FindAll(addresses, AddressGuard.IsPublic);
        if (allowed.Length == 0)
        {
            throw new TargetRefusedException(
                $"Refused to connect to {host}: it resolves only to addresses that are not public ({string.Join(", ", addresses.Select(a => a.ToString()))}); set BgFetch:Fetch:AllowPrivateNetworks to allow them.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
