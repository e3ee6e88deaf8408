using System.Data;
using Akka.Hosting;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Hosting;
using BgFetchCluster.Actors.Fetch;
using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>The Akka.Hosting entry points for the product's persistence: ours by default, Akka.Persistence.Sql as the alternative.</summary>
public static class PersistenceHostingExtensions
{
    /// <summary>
    /// Makes <see cref="BgFetchJournal"/> and <see cref="BgFetchSnapshotStore"/> Akka's default journal and
    /// snapshot store (plugin ids <see cref="BgFetchPersistence.JournalPluginId"/> and
    /// <see cref="BgFetchPersistence.SnapshotStorePluginId"/>). Entities that never snapshot should
    /// still set <c>SnapshotPluginId</c> to <see cref="BgFetchPersistence.NoSnapshotStorePluginId"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithBgFetchPersistence(
        this AkkaConfigurationBuilder builder,
        StorageProvider provider,
        string connectionString,
        string schema = "public",
        int maxBatchSize = BatchingJournal.DefaultMaxBatchSize,
        TimeSpan? outageTolerance = null,
        TimeSpan journalLinger = default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHocon(
            BgFetchPersistence.Config(provider, connectionString, schema, maxBatchSize, outageTolerance, linger: journalLinger), HoconAddMode.Prepend);
    }

    /// <summary>
    /// Adds the product's plugins without making them Akka's defaults, for Akka's sharding state alone
    /// (<see cref="BgFetchPersistence.ShardingJournalPluginId"/>) beside Akka.Persistence.Sql: Akka's remember-entities
    /// stores stop for good on a failed write, and only the sharding plugins wait out an outage however long it lasts.
    /// </summary>
    public static AkkaConfigurationBuilder WithBgFetchShardingPersistence(
        this AkkaConfigurationBuilder builder,
        StorageProvider provider,
        string connectionString,
        string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHocon(BgFetchPersistence.Config(provider, connectionString, schema, asDefault: false), HoconAddMode.Prepend);
    }

    /// <summary>
    /// Makes Akka.Persistence.Sql (linq2db) Akka's default journal and snapshot store, for users who
    /// want its standard schema and Akka.Persistence.Query. Tuned as docs/architecture.md measured: tags as CSV,
    /// no cloned connections, and on SQLite the file in WAL mode with read-uncommitted reads so readers
    /// do not queue behind the write lock. Its tables are prefixed <c>akka_</c> so they never collide with ours in one database.
    /// </summary>
    /// <param name="builder">The Akka configuration being composed.</param>
    /// <param name="provider">SQLite (Microsoft.Data.Sqlite, linq2db <c>SQLite.MS</c>) or PostgreSQL (<c>PostgreSQL</c>).</param>
    /// <param name="connectionString">The provider's connection string.</param>
    /// <param name="schemaName">The PostgreSQL schema of the tables; null for the connection's default.</param>
    /// <param name="outageTolerance">How long transient store errors are retried (<see cref="ResilientSqlJournal"/>; default
    /// <see cref="BgFetchPersistence.DefaultOutageTolerance"/>).</param>
    public static AkkaConfigurationBuilder WithAkkaSqlPersistence(
        this AkkaConfigurationBuilder builder,
        StorageProvider provider,
        string connectionString,
        string? schemaName = null,
        TimeSpan? outageTolerance = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var providerName = provider switch
        {
            StorageProvider.Sqlite => LinqToDB.ProviderName.SQLiteMS,
            StorageProvider.PostgreSql => LinqToDB.ProviderName.PostgreSQL,
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown storage provider."),
        };

        // SQLite has one writer per file: read-uncommitted lets recovery reads skip the wait for it.
        IsolationLevel? readIsolation = provider == StorageProvider.Sqlite ? IsolationLevel.ReadUncommitted : null;
        if (provider == StorageProvider.Sqlite)
        {
            UseWriteAheadLog(connectionString);
        }

        // The Default mapping's static properties return fresh instances, so renaming them is local.
        var journalTable = JournalTableOptions.Default;
        journalTable.TableName = "akka_journal";
        var tagTable = TagTableOptions.Default;
        tagTable.TableName = "akka_tags";
        var metadataTable = MetadataTableOptions.Default;
        metadataTable.TableName = "akka_journal_metadata";
        var journalDatabase = new JournalDatabaseOptions(DatabaseMapping.Default)
        {
            SchemaName = schemaName,
            JournalTable = journalTable,
            TagTable = tagTable,
            MetadataTable = metadataTable,
        };
        var journal = new SqlJournalOptions(isDefaultPlugin: true, identifier: AkkaSqlPluginIdentifier)
        {
            ConnectionString = connectionString,
            ProviderName = providerName,
            AutoInitialize = true,
            DatabaseOptions = journalDatabase,
            TagStorageMode = TagMode.Csv,
            ReadIsolationLevel = readIsolation,
        };

        var snapshotTable = SnapshotTableOptions.Default;
        snapshotTable.TableName = "akka_snapshot";
        var snapshotDatabase = new SnapshotDatabaseOptions(DatabaseMapping.Default)
        {
            SchemaName = schemaName,
            SnapshotTable = snapshotTable,
        };
        var snapshots = new SqlSnapshotOptions(isDefaultPlugin: true, identifier: AkkaSqlPluginIdentifier)
        {
            ConnectionString = connectionString,
            ProviderName = providerName,
            AutoInitialize = true,
            DatabaseOptions = snapshotDatabase,
            ReadIsolationLevel = readIsolation,
        };

        builder.WithSqlPersistence(journal, snapshots);

        // The hosting options have no key for these; added after them so they take precedence. The plugin classes are
        // Akka.Persistence.Sql's own with the product's retries of transient store errors (issue 19), and Akka's call and
        // recovery timeouts outlast those retries (as BgFetchPersistence sets them for the product's plugin).
        var tolerance = outageTolerance ?? BgFetchPersistence.DefaultOutageTolerance;
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, TimeSpan.Zero);
        var toleranceMs = (long)tolerance.TotalMilliseconds;
        var patienceMs = (long)(tolerance + TimeSpan.FromSeconds(30)).TotalMilliseconds;
        return builder.AddHocon(
            $$"""
            akka.persistence.journal.{{AkkaSqlPluginIdentifier}} {
                class = "{{typeof(ResilientSqlJournal).FullName}}, {{typeof(ResilientSqlJournal).Assembly.GetName().Name}}"
                use-clone-connection = false
                outage-tolerance = {{toleranceMs}}ms
                circuit-breaker.call-timeout = {{patienceMs}}ms
                recovery-event-timeout = {{patienceMs}}ms
            }
            akka.persistence.snapshot-store.{{AkkaSqlPluginIdentifier}} {
                class = "{{typeof(ResilientSqlSnapshotStore).FullName}}, {{typeof(ResilientSqlSnapshotStore).Assembly.GetName().Name}}"
                use-clone-connection = false
                outage-tolerance = {{toleranceMs}}ms
                circuit-breaker.call-timeout = {{patienceMs}}ms
            }
            """,
            HoconAddMode.Prepend);
    }

    /// <summary>
    /// Puts the SQLite file in WAL mode before Akka.Persistence.Sql opens it; the mode is stored in the file,
    /// so once is enough. linq2db leaves a new file in SQLite's default rollback-journal mode, where every
    /// recovery read waits for the writer and the writer for the readers (Microsoft.Data.Sqlite retries a
    /// busy database with sleeps): bench/Bench measured 93-121 entity creations/s without it and
    /// 1,395-1,878/s with it (3 alternating runs; bench/README.md). Synchronous stays FULL, SQLite's default.
    /// </summary>
    private static void UseWriteAheadLog(string connectionString)
    {
        // Composition runs once, before the actor system starts: a synchronous open is fine here.
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        command.ExecuteNonQuery();
    }

    /// <summary>The identifier of the Akka.Persistence.Sql plugins: <c>akka.persistence.journal.sql</c> and <c>akka.persistence.snapshot-store.sql</c>.</summary>
    public const string AkkaSqlPluginIdentifier = "sql";
}
