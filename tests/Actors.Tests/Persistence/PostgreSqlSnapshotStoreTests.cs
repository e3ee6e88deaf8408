using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class PostgreSqlSnapshotStoreTests(PostgreSqlTestSchema<PostgreSqlSnapshotStoreTests> database)
    : SnapshotStoreContractTests, IClassFixture<PostgreSqlTestSchema<PostgreSqlSnapshotStoreTests>>
{
    protected override async Task<ISnapshotStore> CreateStoreAsync()
    {
        var store = new PostgreSqlSnapshotStore(database.DataSource, database.Schema);
        await store.InitializeAsync();
        return store;
    }
}
