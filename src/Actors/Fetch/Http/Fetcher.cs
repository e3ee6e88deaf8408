using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BgFetchCluster.Actors.Fetch.Http;

/// <summary>A redirect the Fetch standard treats as a network error: too many, or to a scheme other than http(s).</summary>
public sealed class RedirectRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// The node's one HTTP client for records: a single <see cref="SocketsHttpHandler"/> whose
/// <c>ConnectCallback</c> resolves the host itself and connects only to an address the
/// <see cref="AddressPolicy"/> allows, so DNS rebinding cannot slip past the check. Redirects are
/// followed here, hop by hop, so every hop goes through the same guard and the Fetch standard's
/// rules (20 at most, http(s) only, method and credentials) hold.
/// </summary>
public sealed class Fetcher : IDisposable
{
    private readonly HttpClient _client;
    private readonly AddressPolicy _policy;

    /// <summary>Creates the handler and client from <paramref name="options"/>.</summary>
    public Fetcher(FetchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _policy = new AddressPolicy(options.AllowPrivateNetworks, options.AllowedNetworks, options.DeniedNetworks);
        var handler = new SocketsHttpHandler
        {
            // Byte offsets and counts must be those of the stored body: no transparent decompression.
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            ConnectTimeout = options.ConnectTimeout,
            MaxConnectionsPerServer = options.MaxConnectionsPerServer,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseCookies = false,

            // A proxy would be the address the guard checks, not the target: never use one implicitly.
            UseProxy = false,

            // Header values are byte strings in the Fetch standard: 0x80-0xFF go out as those bytes.
            RequestHeaderEncodingSelector = static (_, _) => Encoding.Latin1,
            ConnectCallback = ConnectAsync,
        };
        _client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The options the fetcher enforces.</summary>
    public FetchOptions Options { get; }

    /// <summary>The refusal in <paramref name="exception"/>'s chain, if the guard or a redirect rule caused it.</summary>
    public static HttpRequestException? FindRefusal(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is TargetRefusedException or RedirectRefusedException)
            {
                return (HttpRequestException)exception;
            }
        }

        return null;
    }

    /// <summary>
    /// Sends a request, following redirects, and returns once the final response's headers are in;
    /// the body is read as a stream. Waiting longer than <see cref="FetchOptions.IdleTimeout"/> for
    /// headers throws <see cref="TimeoutException"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hop = request;
        for (var redirects = 0; ; redirects++)
        {
            var response = await SendOneAsync(hop, cancellationToken).ConfigureAwait(false);
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
            {
                return response;
            }

            response.Dispose();
            if (redirects == FetchOptions.MaxRedirects)
            {
                throw new RedirectRefusedException($"More than {FetchOptions.MaxRedirects} redirects (the last one to {location}).");
            }

            var next = NextHop(hop, response.StatusCode, location);
            if (!ReferenceEquals(hop, request))
            {
                // The content belongs to the caller's request; only the hop's own message goes.
                hop.Content = null;
                hop.Dispose();
            }

            hop = next;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private async Task<HttpResponseMessage> SendOneAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.AcceptEncoding.Clear();
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headers.CancelAfter(Options.IdleTimeout);
        try
        {
            return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No response headers from {request.RequestUri?.Authority} within {Options.IdleTimeout}.");
        }
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;

    /// <summary>The next request of a redirect chain, by the Fetch standard's HTTP-redirect fetch.</summary>
    private static HttpRequestMessage NextHop(HttpRequestMessage hop, HttpStatusCode status, Uri location)
    {
        var current = hop.RequestUri!;
        var target = location.IsAbsoluteUri ? location : new Uri(current, location);
        if (target.Scheme is not ("http" or "https"))
        {
            throw new RedirectRefusedException($"A redirect to {target.Scheme}: is not followed; only http and https are.");
        }

        if (!string.IsNullOrEmpty(target.UserInfo))
        {
            throw new RedirectRefusedException("A redirect to a URL with credentials is not followed.");
        }

        // 303 (except for HEAD), and 301/302 after a POST, continue as a GET without a body.
        var method = hop.Method;
        var toGet = ((int)status == 303 && method != HttpMethod.Head) || ((int)status is 301 or 302 && method == HttpMethod.Post);
        var next = new HttpRequestMessage(toGet ? HttpMethod.Get : method, target)
        {
            Version = hop.Version,
            Content = toGet ? null : hop.Content,
        };
        var crossOrigin = !string.Equals(
            current.GetLeftPart(UriPartial.Authority), target.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);
        foreach (var (name, values) in hop.Headers)
        {
            if (crossOrigin && IsCredentialHeader(name))
            {
                continue;
            }

            next.Headers.TryAddWithoutValidation(name, values);
        }

        return next;
    }

    private static bool IsCredentialHeader(string name) =>
        string.Equals(name, "Authorization", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "Cookie", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "Proxy-Authorization", StringComparison.OrdinalIgnoreCase);

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = new List<IPAddress>(addresses.Length);
        var refusals = new List<string>();
        foreach (var address in addresses)
        {
            if (_policy.Refusal(address) is { } refusal)
            {
                refusals.Add($"{address}: {refusal}");
            }
            else
            {
                allowed.Add(address);
            }
        }

        if (allowed.Count == 0)
        {
            FetchMetrics.SsrfRefusals.Add(1);
            throw new TargetRefusedException(
                $"Refused to connect to {host}, which resolves to no allowed address ({string.Join("; ", refusals)}). "
                + "BgFetch:Fetch:AllowedNetworks or AllowPrivateNetworks allow internal origins on purpose.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync([.. allowed], context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
