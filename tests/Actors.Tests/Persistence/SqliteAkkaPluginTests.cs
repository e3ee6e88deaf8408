using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;
using Xunit.Abstractions;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class SqliteAkkaJournalTests(SqliteTestDatabase<SqliteAkkaJournalTests> database, ITestOutputHelper output)
    : AkkaJournalContractTests(BgFetchPersistence.Config(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaJournalTests>>;

public sealed class SqliteAkkaJournalFailureTests(SqliteTestDatabase<SqliteAkkaJournalFailureTests> database, ITestOutputHelper output)
    : AkkaJournalFailureContractTests(BgFetchPersistence.Config(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaJournalFailureTests>>;

public sealed class SqliteAkkaSnapshotStoreTests(SqliteTestDatabase<SqliteAkkaSnapshotStoreTests> database, ITestOutputHelper output)
    : AkkaSnapshotStoreContractTests(BgFetchPersistence.Config(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaSnapshotStoreTests>>;
