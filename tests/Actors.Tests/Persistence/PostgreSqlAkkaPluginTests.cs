using Akka.Configuration;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;
using Xunit.Abstractions;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class PostgreSqlAkkaJournalTests(PostgreSqlTestSchema<PostgreSqlAkkaJournalTests> database, ITestOutputHelper output)
    : AkkaJournalContractTests(PostgreSqlPluginConfig.For(database.Schema), output),
      IClassFixture<PostgreSqlTestSchema<PostgreSqlAkkaJournalTests>>;

public sealed class PostgreSqlAkkaJournalFailureTests(PostgreSqlTestSchema<PostgreSqlAkkaJournalFailureTests> database, ITestOutputHelper output)
    : AkkaJournalFailureContractTests(PostgreSqlPluginConfig.For(database.Schema), output),
      IClassFixture<PostgreSqlTestSchema<PostgreSqlAkkaJournalFailureTests>>;

public sealed class PostgreSqlAkkaSnapshotStoreTests(PostgreSqlTestSchema<PostgreSqlAkkaSnapshotStoreTests> database, ITestOutputHelper output)
    : AkkaSnapshotStoreContractTests(PostgreSqlPluginConfig.For(database.Schema), output),
      IClassFixture<PostgreSqlTestSchema<PostgreSqlAkkaSnapshotStoreTests>>;

internal static class PostgreSqlPluginConfig
{
    /// <summary>
    /// The plugins over the test class's own schema. The connection string comes from the environment,
    /// not the fixture's data source, whose connection string no longer carries the password.
    /// </summary>
    public static Config For(string schema) => BgFetchPersistence.Config(StorageProvider.PostgreSql, ConnectionString, schema);

    /// <summary>The test database; PostgreSqlTestSchema has already failed the class if it is not set.</summary>
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(PostgreSqlTestSchema<PostgreSqlAkkaJournalTests>.EnvironmentVariable)!;
}
