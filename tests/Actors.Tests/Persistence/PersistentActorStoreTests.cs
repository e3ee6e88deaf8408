using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using BgFetchCluster.Actors.Persistence.Sqlite;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class SqlitePersistentActorTests(SqliteTestDatabase<SqlitePersistentActorTests> database)
    : PersistentActorContractTests, IClassFixture<SqliteTestDatabase<SqlitePersistentActorTests>>
{
    protected override Task<(IJournal Journal, ISnapshotStore Snapshots)> CreateStoresAsync() =>
        Task.FromResult<(IJournal, ISnapshotStore)>((new SqliteJournal(database.ConnectionString), new SqliteSnapshotStore(database.ConnectionString)));
}

public sealed class PostgreSqlPersistentActorTests(PostgreSqlTestSchema<PostgreSqlPersistentActorTests> database)
    : PersistentActorContractTests, IClassFixture<PostgreSqlTestSchema<PostgreSqlPersistentActorTests>>
{
    protected override Task<(IJournal Journal, ISnapshotStore Snapshots)> CreateStoresAsync() =>
        Task.FromResult<(IJournal, ISnapshotStore)>((new PostgreSqlJournal(database.DataSource, database.Schema), new PostgreSqlSnapshotStore(database.DataSource, database.Schema)));
}
