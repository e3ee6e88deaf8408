using BgFetchCluster.Actors.Cluster.PubSub;
using BgFetchCluster.Actors.Cluster.Sharding;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using BgFetchCluster.Actors.Persistence.Sqlite;
using BgFetchCluster.Actors.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Everything a node needs to start the fetch service.</summary>
public sealed record FetchNodeOptions
{
    /// <summary>Journal provider.</summary>
    public StorageProvider Provider { get; init; } = StorageProvider.Sqlite;

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

    /// <summary>Shards per entity type.</summary>
    public int NumberOfShards { get; init; } = 32;
}

/// <summary>
/// One node of the fetch service: actor system, persistence, the scope-index and registration shard
/// regions (remembered entities restart, so unsettled registrations resume on start), the topic
/// mediator, the response store and the fetcher.
/// </summary>
public sealed class FetchNode : IAsyncDisposable
{
    private readonly Fetcher _fetcher;
    private readonly NpgsqlDataSource? _dataSource;

    private FetchNode(ActorSystem system, FetchService service, IResponseStore store, Fetcher fetcher, NpgsqlDataSource? dataSource)
    {
        System = system;
        Service = service;
        Store = store;
        _fetcher = fetcher;
        _dataSource = dataSource;
    }

    /// <summary>The node's actor system.</summary>
    public ActorSystem System { get; }

    /// <summary>The BackgroundFetchManager operations.</summary>
    public FetchService Service { get; }

    /// <summary>The response bodies.</summary>
    public IResponseStore Store { get; }

    /// <summary>Starts a node; returns once the journal is ready and the regions run.</summary>
    public static async Task<FetchNode> StartAsync(
        FetchNodeOptions options,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = timeProvider ?? TimeProvider.System;
        Directory.CreateDirectory(options.DataDirectory);
        var system = ActorSystem.Create("bgfetch", new ActorSystemOptions
        {
            TimeProvider = clock,
            LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
        });

        var serializer = ShardingSerialization.Register(new EventSerializer()).RegisterFetchEvents();
        NpgsqlDataSource? dataSource = null;
        (IJournal journal, ISnapshotStore snapshots) = options.Provider switch
        {
            StorageProvider.PostgreSql => CreatePostgreSql(options, out dataSource),
            _ => CreateSqlite(options),
        };
        await PersistenceExtension.RegisterAsync(system, journal, snapshots, serializer, cancellationToken).ConfigureAwait(false);

        var store = new DiskResponseStore(Path.Combine(options.DataDirectory, "bodies"));
        var fetcher = new Fetcher(options.Fetch);
        var mediator = TopicMediator.Start(system);
        var environment = new FetchEnvironment(fetcher, store, clock, mediator)
        {
            Retention = options.Retention,
            InlineBodyBytes = options.InlineBodyBytes,
            Log = system.LoggerFactory.CreateLogger("BgFetchCluster.Fetch"),
        };
        var settings = new ShardingSettings { NumberOfShards = options.NumberOfShards };
        environment.ScopeIndexRegion = ShardRegion.Start(system, "scope-index", id => ScopeIndexActor.Props(id, environment), settings);
        environment.Notifier = system.ActorOf(WebhookNotifier.Props(fetcher, clock), "notifier");
        environment.RegistrationRegion = ShardRegion.Start(system, "registration", id => RegistrationActor.Props(id, environment), settings);
        var service = new FetchService(environment.RegistrationRegion, environment.ScopeIndexRegion, mediator, options.Limits, clock);
        return new FetchNode(system, service, store, fetcher, dataSource);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await System.TerminateAsync().ConfigureAwait(false);
        _fetcher.Dispose();
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static (IJournal, ISnapshotStore) CreateSqlite(FetchNodeOptions options)
    {
        var connectionString = options.ConnectionString
            ?? $"Data Source={Path.Combine(options.DataDirectory, "journal.db")}";
        return (new SqliteJournal(connectionString), new SqliteSnapshotStore(connectionString));
    }

    private static (IJournal, ISnapshotStore) CreatePostgreSql(FetchNodeOptions options, out NpgsqlDataSource dataSource)
    {
        var connectionString = options.ConnectionString
            ?? throw new InvalidOperationException("BgFetch:Storage:ConnectionString is required with the PostgreSql provider.");
        dataSource = NpgsqlDataSource.Create(connectionString);
        return (new PostgreSqlJournal(dataSource), new PostgreSqlSnapshotStore(dataSource));
    }
}
