using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.Sqlite;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class SqliteSnapshotStoreTests(SqliteTestDatabase<SqliteSnapshotStoreTests> database)
    : SnapshotStoreContractTests, IClassFixture<SqliteTestDatabase<SqliteSnapshotStoreTests>>
{
    protected override async Task<ISnapshotStore> CreateStoreAsync()
    {
        var store = new SqliteSnapshotStore(database.ConnectionString);
        await store.InitializeAsync();
        return store;
    }
}
