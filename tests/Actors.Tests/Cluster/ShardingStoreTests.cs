using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using BgFetchCluster.Actors.Persistence.Sqlite;
using BgFetchCluster.Actors.Tests.Persistence;

namespace BgFetchCluster.Actors.Tests.Cluster;

public sealed class SqliteShardingTests(SqliteTestDatabase<SqliteShardingTests> database)
    : ShardingContractTests, IClassFixture<SqliteTestDatabase<SqliteShardingTests>>
{
    protected override (IJournal Journal, ISnapshotStore Snapshots) CreateStores() =>
        (new SqliteJournal(database.ConnectionString), new SqliteSnapshotStore(database.ConnectionString));
}

public sealed class PostgreSqlShardingTests(PostgreSqlTestSchema<PostgreSqlShardingTests> database)
    : ShardingContractTests, IClassFixture<PostgreSqlTestSchema<PostgreSqlShardingTests>>
{
    protected override (IJournal Journal, ISnapshotStore Snapshots) CreateStores() =>
        (new PostgreSqlJournal(database.DataSource, database.Schema), new PostgreSqlSnapshotStore(database.DataSource, database.Schema));
}
