using Akka.Actor;
using Akka.Persistence;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using AkkaAtomicWrite = Akka.Persistence.AtomicWrite;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class SqliteAkkaJournalTests(SqliteTestDatabase<SqliteAkkaJournalTests> database, ITestOutputHelper output)
    : AkkaJournalContractTests(BgFetchPersistence.Config(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaJournalTests>>
{
    [Fact]
    public async Task ReplayMessages_WhileTheEntitysWriteIsInFlight_ReportsTheHighestAfterIt()
    {
        // A restarting actor may recover while its previous incarnation's write is still in flight;
        // the highest sequence number must include that write, or the new incarnation would reuse it.
        var persistenceId = NewPersistenceId("in-flight");
        await WriteAsync(persistenceId, 1, 1);
        var writer = CreateTestProbe();
        var recovering = CreateTestProbe();
        await using var blocker = new SqliteConnection(
            new SqliteConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ToString());
        await blocker.OpenAsync();
        using var hold = blocker.BeginTransaction(deferred: false);

        // Another connection holds SQLite's write lock, so this write waits in the journal; readers do not wait (WAL).
        SendWrites(writer, [new AkkaAtomicWrite(Event(persistenceId, 2, WriterGuid))]);
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, persistenceId, recovering.Ref), recovering.Ref);
        await Journal.Ask<BatchingStats>(GetBatchingStats.Instance, Timeout);
        hold.Rollback();

        await writer.ExpectMsgAsync<WriteMessagesSuccessful>(Timeout);
        Assert.Equal(1, (await recovering.ExpectMsgAsync<ReplayedMessage>(Timeout)).Persistent.SequenceNr);
        Assert.Equal(2, (await recovering.ExpectMsgAsync<ReplayedMessage>(Timeout)).Persistent.SequenceNr);
        Assert.Equal(2, (await recovering.ExpectMsgAsync<RecoverySuccess>(Timeout)).HighestSequenceNr);
    }
}

public sealed class SqliteAkkaJournalFailureTests(SqliteTestDatabase<SqliteAkkaJournalFailureTests> database, ITestOutputHelper output)
    : AkkaJournalFailureContractTests(BgFetchPersistence.Config(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaJournalFailureTests>>;

public sealed class SqliteAkkaSnapshotStoreTests(SqliteTestDatabase<SqliteAkkaSnapshotStoreTests> database, ITestOutputHelper output)
    : AkkaSnapshotStoreContractTests(BgFetchPersistence.Config(StorageProvider.Sqlite, database.ConnectionString), output),
      IClassFixture<SqliteTestDatabase<SqliteAkkaSnapshotStoreTests>>;
