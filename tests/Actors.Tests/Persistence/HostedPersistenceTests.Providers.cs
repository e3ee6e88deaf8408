using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using BgFetchCluster.Actors.Persistence.Sqlite;
using Xunit.Abstractions;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class SqliteBgFetchPersistenceHostingTests(SqliteTestDatabase<SqliteBgFetchPersistenceHostingTests> database, ITestOutputHelper output)
    : HostedPersistenceTests(builder => builder.WithBgFetchPersistence(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteBgFetchPersistenceHostingTests>>
{
    [Fact]
    public void WithBgFetchPersistence_AnySystem_MakesOurPluginsTheDefaults()
    {
        Assert.Equal((BgFetchPersistence.JournalPluginId, BgFetchPersistence.SnapshotStorePluginId), DefaultPlugins());
    }
}

/// <summary>Akka.Persistence.Sql on SQLite, in a database where our own plugin's tables already exist.</summary>
public sealed class SqliteAkkaSqlPersistenceHostingTests(SqliteTestDatabase<SqliteAkkaSqlPersistenceHostingTests> database, ITestOutputHelper output)
    : HostedPersistenceTests(builder => builder.WithAkkaSqlPersistence(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaSqlPersistenceHostingTests>>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        // Our tables are named journal and snapshot, Akka.Persistence.Sql's default names: its own must
        // not collide with them when an operator switches plugins on one database.
        await using var journal = new SqliteJournal(database.ConnectionString);
        await journal.InitializeAsync();
        await new SqliteSnapshotStore(database.ConnectionString).InitializeAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public void WithAkkaSqlPersistence_Sqlite_IsTunedAsMeasured()
    {
        var journal = Sys.Settings.Config.GetConfig("akka.persistence.journal.sql");
        var snapshots = Sys.Settings.Config.GetConfig("akka.persistence.snapshot-store.sql");

        Assert.Equal(("akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql"), DefaultPlugins());
        Assert.Equal("SQLite.MS", journal.GetString("provider-name"));
        Assert.Equal("Csv", journal.GetString("tag-write-mode"), ignoreCase: true);
        Assert.Equal("read-uncommitted", journal.GetString("read-isolation-level"), ignoreCase: true);
        Assert.Equal("read-uncommitted", snapshots.GetString("read-isolation-level"), ignoreCase: true);
        Assert.False(journal.GetBoolean("use-clone-connection"));
        Assert.False(snapshots.GetBoolean("use-clone-connection"));

        // Akka.Persistence.Sql's classes with the product's retries of transient store errors (issue 19), and Akka's
        // timeouts past the outage tolerance so an outage the retries ride out never fails a call first.
        Assert.StartsWith(typeof(ResilientSqlJournal).FullName!, journal.GetString("class"), StringComparison.Ordinal);
        Assert.StartsWith(typeof(ResilientSqlSnapshotStore).FullName!, snapshots.GetString("class"), StringComparison.Ordinal);
        Assert.Equal(BgFetchPersistence.DefaultOutageTolerance, journal.GetTimeSpan("outage-tolerance"));
        Assert.True(journal.GetTimeSpan("circuit-breaker.call-timeout") > BgFetchPersistence.DefaultOutageTolerance);
        Assert.True(journal.GetTimeSpan("recovery-event-timeout") > BgFetchPersistence.DefaultOutageTolerance);
        Assert.True(snapshots.GetTimeSpan("circuit-breaker.call-timeout") > BgFetchPersistence.DefaultOutageTolerance);
    }
}

/// <summary>Akka.Persistence.Sql on PostgreSQL, in the test class's schema beside our own tables.</summary>
public sealed class PostgreSqlAkkaSqlPersistenceHostingTests(PostgreSqlTestSchema<PostgreSqlAkkaSqlPersistenceHostingTests> database, ITestOutputHelper output)
    : HostedPersistenceTests(
        builder => builder.WithAkkaSqlPersistence(StorageProvider.PostgreSql, PostgreSqlPluginConfig.ConnectionString, database.Schema),
        output),
      IClassFixture<PostgreSqlTestSchema<PostgreSqlAkkaSqlPersistenceHostingTests>>, IAsyncLifetime
{
    // Creating our tables first also creates the schema, which Akka.Persistence.Sql does not do.
    public async Task InitializeAsync()
    {
        await new PostgreSqlJournal(database.DataSource, database.Schema).InitializeAsync();
        await new PostgreSqlSnapshotStore(database.DataSource, database.Schema).InitializeAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public void WithAkkaSqlPersistence_PostgreSql_UsesTheSchemaAndCsvTags()
    {
        var journal = Sys.Settings.Config.GetConfig("akka.persistence.journal.sql");

        Assert.Equal(("akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql"), DefaultPlugins());
        Assert.Equal("PostgreSQL", journal.GetString("provider-name"));
        Assert.Equal("Csv", journal.GetString("tag-write-mode"), ignoreCase: true);
        Assert.False(journal.GetBoolean("use-clone-connection"));
    }
}
