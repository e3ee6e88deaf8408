using System.Net;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>How records are fetched (docs/api.md, configuration table, <c>BgFetch:Fetch</c>).</summary>
public sealed record FetchOptions
{
    /// <summary>Redirects followed per attempt, as in the Fetch standard; one more is a network error.</summary>
    public const int MaxRedirects = 20;

    /// <summary>Allow loopback, private, link-local and similar targets (on in Development only).</summary>
    public bool AllowPrivateNetworks { get; init; }

    /// <summary>Ranges that may be fetched even though they are not public (an internal origin, on purpose).</summary>
    public IReadOnlyList<IPNetwork> AllowedNetworks { get; init; } = [];

    /// <summary>Ranges never fetched, whatever else is allowed; they win over <see cref="AllowedNetworks"/>.</summary>
    public IReadOnlyList<IPNetwork> DeniedNetworks { get; init; } = [];

    /// <summary>Time to establish a connection (name resolution included).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the response headers or the next body bytes before the attempt fails.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Attempts per GET record on transient failures; non-GET requests get exactly one.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>First retry delay; doubles each attempt, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait a <c>Retry-After</c> header can ask for; longer requests are cut to this.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Records fetching at once from one origin (scheme, host and port), and connections to it.</summary>
    public int MaxConnectionsPerServer { get; init; } = 16;

    /// <summary>Records fetching at once on this node; the rest wait their turn, registrations taking turns.</summary>
    public int MaxConcurrentRecords { get; init; } = 64;

    /// <summary>
    /// How long a registration whose every unsettled record waits for a turn (behind <see cref="MaxConcurrentRecords"/>
    /// or <see cref="MaxConnectionsPerServer"/>) stays in memory before it passivates, leaving only its places in the
    /// scheduler's queues; it starts again when one of them comes up (issue 17, W5). <see cref="TimeSpan.Zero"/>: never.
    /// </summary>
    public TimeSpan ParkPendingAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A durable checkpoint (fsync plus journal event) is written after this many new bytes.</summary>
    public long CheckpointBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>...or after this long, whichever comes first.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(2);
}
