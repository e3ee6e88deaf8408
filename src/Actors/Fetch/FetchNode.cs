using Akka.Actor;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Everything a node needs to start the fetch service.</summary>
public sealed record FetchNodeOptions
{
    /// <summary>Journal provider.</summary>
    public StorageProvider Provider { get; init; } = StorageProvider.Sqlite;

    /// <summary>The Akka.Persistence plugin the journal runs on.</summary>
    public JournalPlugin Journal { get; init; } = JournalPlugin.BgFetch;

    /// <summary>The database; for SQLite, null means <c>journal.db</c> under <see cref="DataDirectory"/>.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Journal file and response bodies of an embedded node.</summary>
    public string DataDirectory { get; init; } = "./data";

    /// <summary>How records are fetched.</summary>
    public FetchOptions Fetch { get; init; } = new();

    /// <summary>Per-scope limits.</summary>
    public FetchLimits Limits { get; init; } = new();

    /// <summary>How long settled records stay before automatic release.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(1);

    /// <summary>The default of <see cref="InlineBodyBytes"/>.</summary>
    public const int DefaultInlineBodyBytes = 4096;

    /// <summary>Bodies of at most this many bytes are journaled with their record's outcome instead of stored as files; 0: never.</summary>
    public int InlineBodyBytes { get; init; } = DefaultInlineBodyBytes;

    /// <summary>Shards per entity type; fixed for the life of a cluster.</summary>
    public int NumberOfShards { get; init; } = 100;

    /// <summary>The default of <see cref="WakesPerSecond"/>.</summary>
    public const int DefaultWakesPerSecond = 200;

    /// <summary>See <see cref="FetchEnvironment.WakesPerSecond"/> (<c>BgFetch:Cluster:WakesPerSecond</c>).</summary>
    public int WakesPerSecond { get; init; } = DefaultWakesPerSecond;

    /// <summary>Where response bodies live; null: <see cref="BodyStore.Files"/> with SQLite, <see cref="BodyStore.PostgreSql"/> with PostgreSQL.</summary>
    public BodyStore? Bodies { get; init; }

    /// <summary>The body store in effect: <see cref="Bodies"/>, or the provider's default.</summary>
    public BodyStore EffectiveBodies => Bodies ?? (Provider == StorageProvider.PostgreSql ? BodyStore.PostgreSql : BodyStore.Files);

    /// <summary>
    /// The PostgreSQL schema of the journal, the snapshots and the bodies: the first entry of the connection string's
    /// <c>Search Path</c>, or <c>public</c>.
    /// </summary>
    public string PostgreSqlSchema =>
        Provider == StorageProvider.PostgreSql
        && new NpgsqlConnectionStringBuilder(JournalConnectionString).SearchPath?.Split(',')[0].Trim() is { Length: > 0 } schema
            ? schema
            : "public";

    /// <summary>The default of <see cref="MaxConnections"/>.</summary>
    public const int DefaultMaxConnections = 20;

    /// <summary>
    /// The most PostgreSQL connections this node opens, every use together (<c>BgFetch:Storage:MaxConnections</c>):
    /// the journal, the snapshot store and the bodies share one pool of this size; with Akka.Persistence.Sql its
    /// plugins get half of it (their own pool) and the bodies the rest.
    /// </summary>
    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>
    /// How long transient store errors (connection refused or exhausted, a restarting server, a busy SQLite file) are
    /// retried before an operation fails (<c>BgFetch:Storage:OutageTolerance</c>).
    /// </summary>
    public TimeSpan OutageTolerance { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a busy journal holds a batch that a new writer opened so that others join it (<c>BgFetch:Storage:JournalLinger</c>;
    /// <see cref="Persistence.BatchingJournal"/>); zero never holds one.
    /// </summary>
    public TimeSpan JournalLinger { get; init; }

    /// <summary>The longest the HTTP API waits for the cluster before it answers 503 (<c>BgFetch:Http:RequestTimeout</c>).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The connections Akka.Persistence.Sql may hold when it is the journal: half the budget.</summary>
    public int AkkaSqlConnections => Math.Max(1, MaxConnections / 2);

    /// <summary>
    /// The connection string the product's own PostgreSQL stores share (journal, snapshots, bodies): the configured one
    /// with the node's budget applied (<see cref="PostgreSqlConnections.Budgeted"/>). With Akka.Persistence.Sql as the
    /// journal only the bodies use it, and it gets what that plugin leaves of the budget.
    /// </summary>
    public string BudgetedConnectionString => Provider == StorageProvider.PostgreSql
        ? PostgreSqlConnections.Budgeted(
            JournalConnectionString,
            Journal == JournalPlugin.AkkaSql ? Math.Max(1, MaxConnections - AkkaSqlConnections) : MaxConnections)
        : JournalConnectionString;

    /// <summary>The connection string Akka.Persistence.Sql gets: its share of the budget (SQLite: unchanged).</summary>
    public string AkkaSqlConnectionString => Provider == StorageProvider.PostgreSql
        ? PostgreSqlConnections.Budgeted(JournalConnectionString, AkkaSqlConnections)
        : JournalConnectionString;

    /// <summary>The connection string of the journal: the configured one, or <c>journal.db</c> under the data directory.</summary>
    public string JournalConnectionString => Provider switch
    {
        StorageProvider.PostgreSql => ConnectionString
            ?? throw new InvalidOperationException("BgFetch:Storage:ConnectionString is required with the PostgreSql provider."),
        _ => ConnectionString ?? $"Data Source={Path.Combine(DataDirectory, "journal.db")}",
    };
}

/// <summary>
/// The fetch service of one node, outside the actor system: the guarded HTTP client, the response store and
/// the clock, which the actors share through <see cref="Environment"/> once Akka.Hosting has started the
/// system (<see cref="FetchAkkaBuilderExtensions.WithBgFetch"/>), and the <see cref="Service"/> the HTTP API calls.
/// </summary>
public sealed class FetchNode : IDisposable
{
    private readonly TaskCompletionSource<FetchService> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _log;
    private readonly PostgreSqlConnections.Lease? _bodiesPool;
    private FetchEnvironment? _environment;
    private OutageProbe? _outageProbe;

    /// <summary>
    /// Prepares a node from its options; nothing runs until the actor system starts. <paramref name="health"/> is the
    /// node's <see cref="StoreHealth"/>, shared with its journal and snapshot store (a new one when null).
    /// </summary>
    public FetchNode(FetchNodeOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, StoreHealth? health = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Health = health ?? new StoreHealth();
        _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("BgFetchCluster.Fetch");
        Directory.CreateDirectory(options.DataDirectory);
        var persistenceLog = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("BgFetchCluster.Persistence");
        if (options.EffectiveBodies == BodyStore.PostgreSql)
        {
            // Migrated on first use (PostgreSqlResponseStore), so nothing here waits for the database.
            // The same pool as the journal's (PostgreSqlConnections): one connection budget per node.
            _bodiesPool = PostgreSqlConnections.Acquire(options.BudgetedConnectionString);
            Store = new PostgreSqlResponseStore(
                _bodiesPool.DataSource,
                options.PostgreSqlSchema,
                new StoreResilience("bodies", options.OutageTolerance, persistenceLog, TimeProvider, Health));
        }
        else
        {
            // A network volume (NFS, EFS) fails file operations for a while as a database goes away: the same retries.
            Store = new DiskResponseStore(
                Path.Combine(options.DataDirectory, "bodies"),
                new StoreResilience("bodies", options.OutageTolerance, persistenceLog, TimeProvider, Health));
        }

        Fetcher = new Fetcher(options.Fetch);
    }

    /// <summary>The node's options.</summary>
    public FetchNodeOptions Options { get; }

    /// <summary>The node's clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>What the node knows of its stores' reachability.</summary>
    public StoreHealth Health { get; }

    /// <summary>The response bodies.</summary>
    public IResponseStore Store { get; }

    /// <summary>The node's guarded HTTP client.</summary>
    public Fetcher Fetcher { get; }

    /// <summary>What the actors share; exists once the actor system runs.</summary>
    public FetchEnvironment Environment =>
        _environment ?? throw new InvalidOperationException("The fetch environment exists once the actor system has started.");

    /// <summary>The BackgroundFetchManager operations, once both shard regions run.</summary>
    public Task<FetchService> Service => _started.Task;

    /// <summary>Creates the environment in the started system (called by the Akka.Hosting composition).</summary>
    internal void Attach(ActorSystem system)
    {
        _environment = new FetchEnvironment(system, Fetcher, Store, TimeProvider)
        {
            Retention = Options.Retention,
            InlineBodyBytes = Options.InlineBodyBytes,
            WakesPerSecond = Options.WakesPerSecond,
            Log = _log,
        };
        _environment.Notifier = system.ActorOf(WebhookNotifier.Props(Fetcher, TimeProvider), "notifier");
    }

    /// <summary>Both regions run: the service can take calls (called by the Akka.Hosting composition).</summary>
    internal void Started(IActorRef registrations, IActorRef scopeIndexes)
    {
        var environment = Environment;
        environment.ScopeIndexRegion = scopeIndexes;
        environment.RegistrationRegion = registrations;
        _started.TrySetResult(new FetchService(environment.System, registrations, scopeIndexes, environment.Mediator, Options.Limits, TimeProvider)
        {
            AskTimeout = Options.RequestTimeout,
        });
    }

    /// <summary>
    /// Why the node cannot reach its store right now (null when it can): one <c>SELECT 1</c> through the node's pool,
    /// bounded by <paramref name="timeout"/>, for <c>/ready</c>. A SQLite node's store is its own file: always reachable.
    /// </summary>
    public async Task<string?> StoreProblemAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_bodiesPool is null && Options.Provider != StorageProvider.PostgreSql)
        {
            Health.ReportSuccess();
            return null;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var lease = _bodiesPool ?? PostgreSqlConnections.Acquire(Options.BudgetedConnectionString);
        try
        {
            var command = lease.DataSource.CreateCommand("SELECT 1;");
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteScalarAsync(deadline.Token).ConfigureAwait(false);
            }

            Health.ReportSuccess();
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Health.ReportFailure("database", $"no answer within {timeout.TotalSeconds} s");
            return $"The database did not answer within {timeout.TotalSeconds} s (unreachable, or every connection of the budget busy).";
        }
        catch (Exception exception) when (StoreErrors.IsUnavailable(exception))
        {
            Health.ReportFailure("database", exception.Message);
            return $"The database is unavailable: {exception.Message}";
        }
        finally
        {
            if (!ReferenceEquals(lease, _bodiesPool))
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The longest a probe of <see cref="KnownStoreOutageAsync"/> waits for the database.</summary>
    public static readonly TimeSpan OutageProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long one probe's answer stands for every caller of <see cref="KnownStoreOutageAsync"/>.</summary>
    private static readonly TimeSpan OutageProbeReuse = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Why a call that must write should be answered 503 at once (null: go ahead). Free while <see cref="Health"/> knows
    /// of no outage. While it does, the store is probed (<see cref="StoreProblemAsync"/>, at most
    /// <see cref="OutageProbeTimeout"/>; one probe answers every caller for a second): an outage that ended clears the
    /// health, and one that goes on is answered within the probe's timeout instead of <c>BgFetch:Http:RequestTimeout</c>.
    /// </summary>
    public async Task<string?> KnownStoreOutageAsync(CancellationToken cancellationToken = default)
    {
        if (!Health.IsUnavailable)
        {
            return null;
        }

        var probe = _outageProbe;
        if (probe is null || TimeProvider.GetElapsedTime(probe.Started) > OutageProbeReuse)
        {
            // Not the caller's token: the probe answers the callers of the next second too.
            probe = new OutageProbe(TimeProvider.GetTimestamp(), StoreProblemAsync(OutageProbeTimeout, CancellationToken.None));
            _outageProbe = probe;
        }

        return await probe.Problem.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fails <see cref="Service"/> for whoever waits, when the system could not start.</summary>
    public void Failed(Exception exception) => _started.TrySetException(exception);

    /// <inheritdoc />
    public void Dispose()
    {
        Fetcher.Dispose();
        _bodiesPool?.Dispose();
    }

    /// <summary>One readiness probe started at <see cref="Started"/> (a timestamp of the node's clock) for <see cref="KnownStoreOutageAsync"/>.</summary>
    private sealed record OutageProbe(long Started, Task<string?> Problem);
}
