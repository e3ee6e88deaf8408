using Akka.Configuration;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using BgFetchCluster.Actors.Persistence.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// The storage part of a plugin's HOCON section (<c>provider</c>, <c>connection-string</c>, <c>schema</c>,
/// <c>max-batch-size</c>, <c>linger</c>), read once when Akka creates the plugin actor.
/// </summary>
internal sealed record PluginSettings(StorageProvider Provider, string ConnectionString, string Schema, int MaxBatchSize, TimeSpan OutageTolerance, TimeSpan Linger)
{
    /// <summary>Reads and validates the plugin's section; a wrong value fails the plugin at start, not at the first write.</summary>
    public static PluginSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var provider = BgFetchPersistence.ParseProvider(config.GetString("provider", string.Empty));
        var connectionString = config.GetString("connection-string", string.Empty);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ConfigurationException("The BgFetch persistence plugin needs a 'connection-string'.");
        }

        var maxBatchSize = config.GetInt("max-batch-size", BatchingJournal.DefaultMaxBatchSize);
        if (maxBatchSize < 1)
        {
            throw new ConfigurationException($"'max-batch-size' must be at least 1, not {maxBatchSize}.");
        }

        var tolerance = config.GetTimeSpan("outage-tolerance", BgFetchPersistence.DefaultOutageTolerance, allowInfinite: false);
        if (tolerance < TimeSpan.Zero)
        {
            throw new ConfigurationException($"'outage-tolerance' must not be negative, not {tolerance}.");
        }

        var linger = config.GetTimeSpan("linger", TimeSpan.Zero, allowInfinite: false);
        if (linger < TimeSpan.Zero || linger > BgFetchPersistence.MaxLinger)
        {
            throw new ConfigurationException($"'linger' must be between 0 and {BgFetchPersistence.MaxLinger.TotalMilliseconds} ms, not {linger}.");
        }

        return new PluginSettings(provider, connectionString, config.GetString("schema", "public"), maxBatchSize, tolerance, linger);
    }

    /// <summary>A journal over the configured database, plus what the plugin owns besides it (its lease on the node's PostgreSQL pool).</summary>
    public (IJournal Journal, IAsyncDisposable? Owned) CreateJournal()
    {
        if (Provider == StorageProvider.Sqlite)
        {
            return (new SqliteJournal(ConnectionString), null);
        }

        // The node's one pool (PostgreSqlConnections): the journal, the snapshot store and the bodies share it.
        var lease = PostgreSqlConnections.Acquire(ConnectionString);
        return (new PostgreSqlJournal(lease.DataSource, Schema), lease);
    }

    /// <summary>A snapshot store over the configured database, plus what the plugin owns besides it.</summary>
    public (ISnapshotStore Store, IAsyncDisposable? Owned) CreateSnapshotStore()
    {
        if (Provider == StorageProvider.Sqlite)
        {
            return (new SqliteSnapshotStore(ConnectionString), null);
        }

        var lease = PostgreSqlConnections.Acquire(ConnectionString);
        return (new PostgreSqlSnapshotStore(lease.DataSource, Schema), lease);
    }
}
