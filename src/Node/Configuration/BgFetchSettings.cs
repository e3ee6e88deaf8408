using System.Net;
using System.Net.Sockets;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Node.Configuration;

/// <summary>The <c>BgFetch</c> configuration section (docs/api.md, "Configuration").</summary>
public sealed class BgFetchSettings
{
    /// <summary>Section name.</summary>
    public const string SectionName = "BgFetch";

    /// <summary><c>BgFetch:Storage</c>.</summary>
    public StorageSettings Storage { get; set; } = new();

    /// <summary><c>BgFetch:Fetch</c>.</summary>
    public FetchSettings Fetch { get; set; } = new();

    /// <summary><c>BgFetch:Limits</c>.</summary>
    public FetchLimits Limits { get; set; } = new();

    /// <summary><c>BgFetch:Retention</c>: how long settled records stay available.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    /// <summary><c>BgFetch:Auth</c>.</summary>
    public AuthSettings Auth { get; set; } = new();

    /// <summary><c>BgFetch:Cluster</c>.</summary>
    public ClusterSettings Cluster { get; set; } = new();

    /// <summary><c>BgFetch:Telemetry</c>.</summary>
    public TelemetrySettings Telemetry { get; set; } = new();

    /// <summary><c>BgFetch:Http</c>.</summary>
    public HttpSettings Http { get; set; } = new();

    /// <summary><c>BgFetch:Memory</c>.</summary>
    public MemorySettings Memory { get; set; } = new();

    /// <summary>The node options these settings describe.</summary>
    public FetchNodeOptions ToNodeOptions(bool isDevelopment) => new()
    {
        Provider = Storage.Provider,
        Journal = Storage.Journal,
        NumberOfShards = Cluster.NumberOfShards,
        WakesPerSecond = Cluster.WakesPerSecond,
        ConnectionString = Storage.ConnectionString,
        DataDirectory = Storage.DataDirectory,
        InlineBodyBytes = Storage.InlineBodyBytes,
        Bodies = Storage.Bodies,
        MaxConnections = Storage.MaxConnections,
        OutageTolerance = Storage.OutageTolerance,
        JournalLinger = Storage.JournalLinger,
        RequestTimeout = Http.RequestTimeout,
        Limits = Limits,
        Retention = Retention,
        Fetch = new FetchOptions
        {
            AllowPrivateNetworks = Fetch.AllowPrivateNetworks ?? isDevelopment,
            AllowedNetworks = FetchSettings.ParseNetworks(Fetch.AllowedNetworks, "AllowedNetworks"),
            DeniedNetworks = FetchSettings.ParseNetworks(Fetch.DeniedNetworks, "DeniedNetworks"),
            ConnectTimeout = Fetch.ConnectTimeout,
            IdleTimeout = Fetch.IdleTimeout,
            MaxAttempts = Fetch.MaxAttempts,
            RetryBaseDelay = Fetch.RetryBaseDelay,
            MaxRetryAfter = Fetch.MaxRetryAfter,
            MaxConnectionsPerServer = Fetch.MaxConnectionsPerServer,
            MaxConcurrentRecords = Fetch.MaxConcurrentRecords,
            ParkPendingAfter = Fetch.ParkPendingAfter,
        },
    };

    /// <summary>Refuses settings a node cannot run with, naming the key to fix.</summary>
    public void Validate(bool isDevelopment)
    {
        if (!isDevelopment && Auth.ApiKeys.Count == 0)
        {
            throw new InvalidOperationException(
                "No API keys are configured (BgFetch:Auth:ApiKeys:{key} = scope). A node outside Development refuses to start without them.");
        }

        if (Limits.ScopeQuotaBytes <= 0 || Limits.MaxActiveRegistrationsPerScope <= 0 || Limits.MaxRequestsPerRegistration <= 0)
        {
            throw new InvalidOperationException("BgFetch:Limits values must be positive.");
        }

        if (Fetch.MaxAttempts < 1 || Fetch.ConnectTimeout <= TimeSpan.Zero || Fetch.IdleTimeout <= TimeSpan.Zero
            || Fetch.RetryBaseDelay < TimeSpan.Zero || Fetch.MaxRetryAfter < TimeSpan.Zero)
        {
            throw new InvalidOperationException("BgFetch:Fetch: MaxAttempts must be at least 1 and the timeouts positive.");
        }

        if (Fetch.MaxConnectionsPerServer < 1 || Fetch.MaxConcurrentRecords < 1)
        {
            throw new InvalidOperationException("BgFetch:Fetch: MaxConnectionsPerServer and MaxConcurrentRecords must be at least 1.");
        }

        if (Fetch.ParkPendingAfter < TimeSpan.Zero || (Fetch.ParkPendingAfter > TimeSpan.Zero && Fetch.ParkPendingAfter < TimeSpan.FromSeconds(1)))
        {
            throw new InvalidOperationException("BgFetch:Fetch:ParkPendingAfter must be 00:00:00 (never) or at least one second.");
        }

        _ = FetchSettings.ParseNetworks(Fetch.AllowedNetworks, "AllowedNetworks");
        _ = FetchSettings.ParseNetworks(Fetch.DeniedNetworks, "DeniedNetworks");

        if (Storage.InlineBodyBytes is < 0 or > StorageSettings.MaxInlineBodyBytes)
        {
            throw new InvalidOperationException(
                $"BgFetch:Storage:InlineBodyBytes must be between 0 (store every body as a file) and {StorageSettings.MaxInlineBodyBytes}.");
        }

        var bodies = Storage.Bodies ?? (Storage.Provider == StorageProvider.PostgreSql ? BodyStore.PostgreSql : BodyStore.Files);
        if (bodies == BodyStore.PostgreSql
            && (Storage.Provider != StorageProvider.PostgreSql || string.IsNullOrWhiteSpace(Storage.ConnectionString)))
        {
            throw new InvalidOperationException(
                "BgFetch:Storage:Bodies=PostgreSql (the default with the PostgreSql provider) keeps bodies in the journal's database: it needs BgFetch:Storage:Provider=PostgreSql and BgFetch:Storage:ConnectionString.");
        }

        if (Storage.MaxConnections < (Storage.Journal == JournalPlugin.AkkaSql ? 2 : 1))
        {
            throw new InvalidOperationException(
                "BgFetch:Storage:MaxConnections must be at least 1 (2 with BgFetch:Storage:Journal=AkkaSql, which gets half of them).");
        }

        if (Storage.OutageTolerance < TimeSpan.Zero || Http.RequestTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("BgFetch:Storage:OutageTolerance must not be negative, and BgFetch:Http:RequestTimeout must be positive.");
        }

        if (Storage.JournalLinger < TimeSpan.Zero || Storage.JournalLinger > BgFetchPersistence.MaxLinger)
        {
            throw new InvalidOperationException(
                $"BgFetch:Storage:JournalLinger must be between 0 and {BgFetchPersistence.MaxLinger.TotalMilliseconds} ms: it delays the writes it holds by as much.");
        }

        Cluster.Validate();

        if (Memory.TrimInterval < TimeSpan.Zero || Memory.QuietFor < TimeSpan.Zero || Memory.BurstBytes < 0 || Memory.QuietAllocationBytes < 0 || Memory.TrimAboveBytes < 0)
        {
            throw new InvalidOperationException("BgFetch:Memory: TrimInterval (00:00:00 turns trimming off), QuietFor and the byte counts must not be negative.");
        }

        if (Retention <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("BgFetch:Retention must be positive.");
        }
    }
}

/// <summary><c>BgFetch:Storage</c>.</summary>
public sealed class StorageSettings
{
    /// <summary><c>Sqlite</c> or <c>PostgreSql</c>.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary><c>BgFetch</c> (the product's batching plugin) or <c>AkkaSql</c> (Akka.Persistence.Sql).</summary>
    public JournalPlugin Journal { get; set; } = JournalPlugin.BgFetch;

    /// <summary>The database; SQLite defaults to a file under the data directory.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Journal file and bodies of an embedded node.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Bodies up to this size are journaled with their record instead of stored as files; 0: never.</summary>
    public int InlineBodyBytes { get; set; } = FetchNodeOptions.DefaultInlineBodyBytes;

    /// <summary><c>Files</c> or <c>PostgreSql</c>; unset: <c>Files</c> with SQLite, <c>PostgreSql</c> with PostgreSQL.</summary>
    public BodyStore? Bodies { get; set; }

    /// <summary>The most PostgreSQL connections this node opens, every use together; waiting for one is back-pressure.</summary>
    public int MaxConnections { get; set; } = FetchNodeOptions.DefaultMaxConnections;

    /// <summary>How long transient store errors are retried with backoff before anything fails; downloads pause meanwhile.</summary>
    public TimeSpan OutageTolerance { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a busy journal holds a batch a new writer opened, for others to join; zero (the default): never. 2 ms
    /// takes a three-node cluster on PostgreSQL from 3.2-3.3 to 2.6-2.7 transactions per registration, but since a
    /// creation's two writes go one after the other it saves no CPU and slowed one node on PostgreSQL, and on SQLite it
    /// lowered throughput: opt-in, for a database near its transaction limit (bench/README.md, "The journal linger").
    /// </summary>
    public TimeSpan JournalLinger { get; set; }

    /// <summary>The largest <see cref="InlineBodyBytes"/> allowed: bodies beyond it belong in files, streamed.</summary>
    public const int MaxInlineBodyBytes = 64 * 1024;
}

/// <summary><c>BgFetch:Fetch</c>.</summary>
public sealed class FetchSettings
{
    /// <summary>Allow private targets; unset means true in Development only.</summary>
    public bool? AllowPrivateNetworks { get; set; }

    /// <summary>Connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle-read timeout.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Attempts per GET record.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest <c>Retry-After</c> honoured.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>CIDR ranges (or single addresses) that may be fetched although not public; entries may hold several, comma-separated.</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>CIDR ranges (or single addresses) never fetched; they win over everything else.</summary>
    public List<string> DeniedNetworks { get; set; } = [];

    /// <summary>Records fetching at once from one origin, and connections to it.</summary>
    public int MaxConnectionsPerServer { get; set; } = 16;

    /// <summary>Records fetching at once on the node.</summary>
    public int MaxConcurrentRecords { get; set; } = 64;

    /// <summary>How long a registration that only waits for turns stays in memory; zero: always.</summary>
    public TimeSpan ParkPendingAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Parses a list of CIDR ranges such as <c>10.20.0.0/16</c>, <c>fd00::/8</c> or a single address,
    /// naming the key and the entry when one is not valid.
    /// </summary>
    public static IReadOnlyList<IPNetwork> ParseNetworks(IEnumerable<string> entries, string key)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var networks = new List<IPNetwork>();
        foreach (var entry in entries.SelectMany(e => e.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (entry.Contains('/', StringComparison.Ordinal) && IPNetwork.TryParse(entry, out var network)
                && IPAddress.TryParse(entry.AsSpan(0, entry.IndexOf('/', StringComparison.Ordinal)), out var written)
                && written.Equals(network.BaseAddress))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new InvalidOperationException(
                    $"BgFetch:Fetch:{key}: '{entry}' is not a CIDR range (such as 10.20.0.0/16 or fd00::/8, with no bits set past the prefix) or an address.");
            }
        }

        return networks;
    }
}

/// <summary><c>BgFetch:Cluster</c>: how this node's Akka.Remote endpoint is reached and which cluster it joins.</summary>
public sealed class ClusterSettings
{
    /// <summary>The address other nodes reach this node's Akka.Remote endpoint at.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Refuses cluster settings a node cannot run with, naming the key.</summary>
    public void Validate()
    {
        if (NumberOfShards < 1 || Port is < 0 or > 65535 || string.IsNullOrWhiteSpace(Hostname))
        {
            throw new InvalidOperationException("BgFetch:Cluster: NumberOfShards must be at least 1, Port between 0 and 65535, and Hostname set.");
        }

        if (WakesPerSecond < 10)
        {
            throw new InvalidOperationException("BgFetch:Cluster:WakesPerSecond must be at least 10.");
        }

        foreach (var seed in SeedNodes)
        {
            if (!Akka.Actor.Address.TryParse(seed, out var address) || address.Host is null || address.Port is null)
            {
                throw new InvalidOperationException($"BgFetch:Cluster:SeedNodes: '{seed}' is not an address such as akka.tcp://bgfetch@10.0.0.5:4053.");
            }
        }

        if (Discovery == ClusterDiscovery.Kubernetes && (string.IsNullOrWhiteSpace(ServiceName) || RequiredContactPoints < 1 || ManagementPort is < 1 or > 65535))
        {
            throw new InvalidOperationException("BgFetch:Cluster: Kubernetes discovery needs ServiceName, RequiredContactPoints of at least 1 and a ManagementPort.");
        }
    }

    /// <summary>The Akka.Remote port; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Seed addresses (<c>akka.tcp://bgfetch@host:port</c>); none: the node forms a cluster of one.</summary>
    public List<string> SeedNodes { get; set; } = [];

    /// <summary>Shards per entity type; fixed for the life of a cluster.</summary>
    public int NumberOfShards { get; set; } = 100;

    /// <summary>
    /// How many registrations this node's scope indexes wake per second, together, after a member left or an index
    /// recovered (oldest first): the pace at which a lost node's registrations restart on the survivors.
    /// </summary>
    public int WakesPerSecond { get; set; } = FetchNodeOptions.DefaultWakesPerSecond;

    /// <summary><c>None</c> (seed nodes, or a cluster of one) or <c>Kubernetes</c> (Akka Management cluster bootstrap).</summary>
    public ClusterDiscovery Discovery { get; set; } = ClusterDiscovery.None;

    /// <summary>
    /// With Kubernetes discovery: the service name bootstrap looks up; pods are selected by the label
    /// <c>app=&lt;ServiceName&gt;</c> (<see cref="PodLabelSelector"/>) in the pod's own namespace.
    /// </summary>
    public string ServiceName { get; set; } = "bgfetch";

    /// <summary>With Kubernetes discovery: the label selector of the pods, <c>{0}</c> standing for <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; set; } = "app={0}";

    /// <summary>With Kubernetes discovery: the Akka Management HTTP port bootstrap probes other pods on.</summary>
    public int ManagementPort { get; set; } = 8558;

    /// <summary>With Kubernetes discovery: pods that must be found before the first of them forms a new cluster.</summary>
    public int RequiredContactPoints { get; set; } = 2;
}

/// <summary>How a node finds the other members of its cluster (docs/api.md, <c>BgFetch:Cluster:Discovery</c>).</summary>
public enum ClusterDiscovery
{
    /// <summary>The configured seed nodes; without any, the node forms a cluster of one.</summary>
    None,

    /// <summary>Akka Management cluster bootstrap through the Kubernetes API, pods selected by label.</summary>
    Kubernetes,
}

/// <summary><c>BgFetch:Auth</c>: API keys and the scope each opens.</summary>
public sealed class AuthSettings
{
    /// <summary>Key to scope.</summary>
    public Dictionary<string, string> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Operator key to a name for it; a key here opens <c>/v1/admin/</c> whenever API keys are configured.</summary>
    public Dictionary<string, string> AdminKeys { get; set; } = new(StringComparer.Ordinal);
}

/// <summary><c>BgFetch:Http</c>: how the HTTP API waits for the cluster.</summary>
public sealed class HttpSettings
{
    /// <summary>The longest an API call waits for the cluster (or its store) before it answers 503 <c>UnavailableError</c>.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary><c>BgFetch:Telemetry</c>: which OpenTelemetry exporters the node serves (OTLP follows <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).</summary>
public sealed class TelemetrySettings
{
    /// <summary>Serve <c>/metrics</c> in Prometheus text format.</summary>
    public bool Prometheus { get; set; } = true;
}

/// <summary><c>BgFetch:Memory</c>: when an idle node gives the memory of a past burst back (<see cref="Memory.IdleMemoryTrimmer"/>).</summary>
public sealed class MemorySettings
{
    /// <summary>How often the node looks; <c>00:00:00</c> never trims.</summary>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A burst: the node allocated at least this much since it last trimmed.</summary>
    public long BurstBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>A look is quiet when the node allocated less than this since the previous look.</summary>
    public long QuietAllocationBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// The burst is over when the looks were quiet for this long in a row: longer than <c>BgFetch:Fetch:ParkPendingAfter</c>
    /// plus its check (30-60 s), so that the registrations a burst left pending have parked before the trim.
    /// </summary>
    public TimeSpan QuietFor { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Trims only when the GC has at least this much committed.</summary>
    public long TrimAboveBytes { get; set; } = 128L * 1024 * 1024;
}
