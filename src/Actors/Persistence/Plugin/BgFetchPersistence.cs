using System.Globalization;
using System.Text;
using Akka.Configuration;
using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// The one place that says how the product's persistence plugins are configured: their plugin ids,
/// their HOCON, and the id of Akka's "no snapshot store". Hosting code uses
/// <see cref="PersistenceHostingExtensions.WithBgFetchPersistence"/>; tests and tools may use
/// <see cref="Config"/> directly.
/// </summary>
/// <remarks>
/// Keys of each plugin section: <c>class</c>, <c>plugin-dispatcher</c>, <c>provider</c>
/// (<c>sqlite</c> | <c>postgresql</c>), <c>connection-string</c>, <c>schema</c> (PostgreSQL only,
/// default <c>public</c>), <c>outage-tolerance</c> (how long transient store errors are retried) and, for the journal,
/// <c>max-batch-size</c> (writes per transaction).
/// </remarks>
public static class BgFetchPersistence
{
    /// <summary>The HOCON path and plugin id of the journal (<see cref="BgFetchJournal"/>).</summary>
    public const string JournalPluginId = "bgfetch.persistence.journal";

    /// <summary>The HOCON path and plugin id of the snapshot store (<see cref="BgFetchSnapshotStore"/>).</summary>
    public const string SnapshotStorePluginId = "bgfetch.persistence.snapshot-store";

    /// <summary>
    /// The journal of Akka's own sharding state (remembered entities and shards): the same table and pool as
    /// <see cref="JournalPluginId"/>, but it waits out a store outage however long it lasts
    /// (<see cref="ShardingOutageTolerance"/>). Akka's remember-entities stores stop for good on a failed write, and a
    /// coordinator whose store has stopped allocates no shard again until the node restarts; the registrations' own
    /// writes keep the outage tolerance, and fail (and restart) as the product decides.
    /// </summary>
    public const string ShardingJournalPluginId = "bgfetch.persistence.sharding-journal";

    /// <summary>The snapshot store of Akka's sharding state; see <see cref="ShardingJournalPluginId"/>.</summary>
    public const string ShardingSnapshotStorePluginId = "bgfetch.persistence.sharding-snapshot-store";

    /// <summary>How long the sharding plugins wait out an outage: a day, which is to say until the database is back.</summary>
    public static TimeSpan ShardingOutageTolerance { get; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Akka's snapshot store that stores nothing and answers every load with "no snapshot" at once.
    /// An entity that never snapshots opts in by setting, in its constructor,
    /// <c>SnapshotPluginId = BgFetchPersistence.NoSnapshotStorePluginId;</c> (Akka's
    /// <c>Eventsourced.SnapshotPluginId</c> has a protected setter), so its recovery does not query a
    /// snapshot table for nothing (docs/architecture.md: that query costs a third of the throughput). Such an
    /// entity must never call <c>SaveSnapshot</c>.
    /// </summary>
    public const string NoSnapshotStorePluginId = "akka.persistence.no-snapshot-store";

    /// <summary>
    /// The HOCON of both plugins over one database, made Akka's default journal and snapshot store.
    /// </summary>
    /// <param name="provider">SQLite (embedded node) or PostgreSQL (cluster).</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite or Npgsql connection string.</param>
    /// <param name="schema">The PostgreSQL schema of the tables (ignored on SQLite).</param>
    /// <param name="maxBatchSize">The most atomic writes the journal stores in one transaction.</param>
    /// <param name="outageTolerance">How long transient store errors are retried (default <see cref="DefaultOutageTolerance"/>).</param>
    /// <param name="linger">How long a busy journal holds a batch a new writer opened, for others to join (HOCON <c>linger</c>;
    /// <see cref="BatchingJournal"/>); zero, the default, never holds one.</param>
    /// <param name="asDefault">Whether the plugins become Akka's default journal and snapshot store; false when another
    /// plugin (Akka.Persistence.Sql) is the default and only the sharding plugins are used.</param>
    public static string Hocon(
        StorageProvider provider,
        string connectionString,
        string schema = "public",
        int maxBatchSize = BatchingJournal.DefaultMaxBatchSize,
        TimeSpan? outageTolerance = null,
        bool asDefault = true,
        TimeSpan linger = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentOutOfRangeException.ThrowIfLessThan(linger, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(linger, MaxLinger);
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        var tolerance = outageTolerance ?? DefaultOutageTolerance;
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, TimeSpan.Zero);

        // Akka's circuit breaker fails a call after call-timeout (10 s by default) and recovery gives up after
        // recovery-event-timeout (30 s): both must outlast the retries of an outage, plus one last wait for a
        // connection, or an outage the stores would ride out still fails the actors.
        var patience = Milliseconds(tolerance + TimeSpan.FromSeconds(30));
        var storage = Storage(provider, connectionString, schema, tolerance);
        var shardingPatience = Milliseconds(ShardingOutageTolerance + TimeSpan.FromSeconds(30));
        var shardingStorage = Storage(provider, connectionString, schema, ShardingOutageTolerance);

        // Akka's replay filter (on by default, repair-by-discard-old) spawns one child actor per recovery, which every
        // replayed event then passes through, to repair a history two writers interleaved. Our journal cannot hold one:
        // UNIQUE(persistence_id, sequence_nr) refuses the second writer's event for a taken number, and that writer
        // stops (a failed persist) before it writes anything after it. So the filter would only cost an actor and a
        // hop per recovery of every entity, a new registration's included.
        const string replayFilter = "replay-filter.mode = off";
        return $$"""
            {{JournalPluginId}} {
                class = {{Quote(ClassName(typeof(BgFetchJournal)))}}
                plugin-dispatcher = "akka.actor.default-dispatcher"
            {{storage}}
                max-batch-size = {{maxBatchSize.ToString(CultureInfo.InvariantCulture)}}
                linger = {{FractionalMilliseconds(linger)}}
                recovery-event-timeout = {{patience}}
                {{replayFilter}}
            }
            {{SnapshotStorePluginId}} {
                class = {{Quote(ClassName(typeof(BgFetchSnapshotStore)))}}
                plugin-dispatcher = "akka.actor.default-dispatcher"
            {{storage}}
            }
            {{ShardingJournalPluginId}} {
                class = {{Quote(ClassName(typeof(BgFetchJournal)))}}
                plugin-dispatcher = "akka.actor.default-dispatcher"
            {{shardingStorage}}
                max-batch-size = {{maxBatchSize.ToString(CultureInfo.InvariantCulture)}}
                recovery-event-timeout = {{shardingPatience}}
                {{replayFilter}}
            }
            {{ShardingSnapshotStorePluginId}} {
                class = {{Quote(ClassName(typeof(BgFetchSnapshotStore)))}}
                plugin-dispatcher = "akka.actor.default-dispatcher"
            {{shardingStorage}}
            }
            {{(asDefault ? $"akka.persistence.journal.plugin = {Quote(JournalPluginId)}" : string.Empty)}}
            {{(asDefault ? $"akka.persistence.snapshot-store.plugin = {Quote(SnapshotStorePluginId)}" : string.Empty)}}
            """;
    }

    /// <summary><see cref="Hocon"/>, parsed.</summary>
    public static Config Config(
        StorageProvider provider,
        string connectionString,
        string schema = "public",
        int maxBatchSize = BatchingJournal.DefaultMaxBatchSize,
        TimeSpan? outageTolerance = null,
        bool asDefault = true,
        TimeSpan linger = default) =>
        ConfigurationFactory.ParseString(Hocon(provider, connectionString, schema, maxBatchSize, outageTolerance, asDefault, linger));

    /// <summary>The longest journal linger allowed: it delays the writes it holds by as much.</summary>
    public static TimeSpan MaxLinger { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the plugins retry transient store errors unless told otherwise (<c>BgFetch:Storage:OutageTolerance</c>).</summary>
    public static TimeSpan DefaultOutageTolerance { get; } = TimeSpan.FromMinutes(1);

    /// <summary>The storage keys both sections of a plugin pair share, with Akka's call timeout past the tolerance.</summary>
    private static string Storage(StorageProvider provider, string connectionString, string schema, TimeSpan tolerance) =>
        new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"    provider = {ProviderName(provider)}\n")
            .Append(CultureInfo.InvariantCulture, $"    connection-string = {Quote(connectionString)}\n")
            .Append(CultureInfo.InvariantCulture, $"    schema = {Quote(schema)}\n")
            .Append(CultureInfo.InvariantCulture, $"    outage-tolerance = {Milliseconds(tolerance)}\n")
            .Append(CultureInfo.InvariantCulture, $"    circuit-breaker.call-timeout = {Milliseconds(tolerance + TimeSpan.FromSeconds(30))}\n")
            .ToString();

    private static string FractionalMilliseconds(TimeSpan value) =>
        string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.###}ms");

    private static string Milliseconds(TimeSpan value) =>
        string.Create(CultureInfo.InvariantCulture, $"{(long)value.TotalMilliseconds}ms");

    /// <summary>The <c>provider</c> value for <paramref name="provider"/>.</summary>
    public static string ProviderName(StorageProvider provider) => provider switch
    {
        StorageProvider.Sqlite => "sqlite",
        StorageProvider.PostgreSql => "postgresql",
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown storage provider."),
    };

    /// <summary>The provider a <c>provider</c> value names (case-insensitive).</summary>
    /// <exception cref="ConfigurationException">The value names no provider.</exception>
    public static StorageProvider ParseProvider(string value) => value.Trim().ToUpperInvariant() switch
    {
        "SQLITE" => StorageProvider.Sqlite,
        "POSTGRESQL" => StorageProvider.PostgreSql,
        _ => throw new ConfigurationException($"Unknown BgFetch persistence provider '{value}': use 'sqlite' or 'postgresql'."),
    };

    private static string ClassName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    /// <summary>A HOCON quoted string: connection strings hold '=', ';' and possibly quotes or backslashes.</summary>
    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
