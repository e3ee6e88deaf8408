using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Tests.Persistence;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>The response store contract on PostgreSQL (a schema for the class), plus what only this store does: fencing zombie writers.</summary>
public sealed partial class PostgreSqlResponseStoreTests(PostgreSqlTestSchema<PostgreSqlResponseStoreTests> database)
    : ResponseStoreContractTests, IClassFixture<PostgreSqlTestSchema<PostgreSqlResponseStoreTests>>
{
    // The one chunk being filled.
    protected override long MaxUnstoredBytes => PostgreSqlResponseStore.ChunkSize;

    protected override IResponseStore CreateStore() => NewNode();

    /// <summary>Another node's store over the same database: the same tables, its own writers.</summary>
    private PostgreSqlResponseStore NewNode() => new(database.DataSource, database.Schema);
}
