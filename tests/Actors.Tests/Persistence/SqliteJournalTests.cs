using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.Sqlite;
using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class SqliteJournalTests(SqliteTestDatabase<SqliteJournalTests> database)
    : JournalContractTests, IClassFixture<SqliteTestDatabase<SqliteJournalTests>>
{
    protected override async Task<IJournal> CreateJournalAsync()
    {
        var journal = new SqliteJournal(database.ConnectionString);
        await journal.InitializeAsync();
        return journal;
    }

    protected override async Task<long> ReadOrderingAsync(string persistenceId, long sequenceNr)
    {
        await using var connection = new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT ordering FROM journal WHERE persistence_id = $pid AND sequence_nr = $seq;";
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$seq", sequenceNr);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task InitializeAsync_NewDatabase_UsesWalMode()
    {
        await using var connection = new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";

        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task InitializeAsync_Version1Database_MigratesAndKeepsItsRows()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bgfetch-v1-{Guid.NewGuid():N}.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        var writer = Guid.NewGuid().ToString("D");
        try
        {
            await using (var connection = new SqliteConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                // The schema as version 1 released it, with one event and one snapshot in it.
                command.CommandText = $"""
                    CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
                    CREATE TABLE journal (
                        ordering INTEGER PRIMARY KEY AUTOINCREMENT, persistence_id TEXT NOT NULL,
                        sequence_nr INTEGER NOT NULL, created INTEGER NOT NULL, manifest TEXT NOT NULL,
                        payload BLOB NOT NULL, writer_uuid TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
                        UNIQUE (persistence_id, sequence_nr));
                    CREATE TABLE snapshot (
                        persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, created INTEGER NOT NULL,
                        manifest TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (persistence_id, sequence_nr));
                    INSERT INTO schema_version VALUES ('journal', 1), ('snapshot', 1);
                    INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, writer_uuid)
                    VALUES ('old', 1, 0, 'old.v1', x'7B7D', '{writer}');
                    INSERT INTO snapshot VALUES ('old', 1, 0, 'old.snapshot.v1', x'7B7D');
                    """;
                await command.ExecuteNonQueryAsync();
            }

            await using var journal = new SqliteJournal(connectionString);
            await journal.InitializeAsync();
            var snapshots = new SqliteSnapshotStore(connectionString);
            await snapshots.InitializeAsync();

            var old = Assert.Single(await journal.ReplayAsync("old", 1, long.MaxValue, long.MaxValue).ToListAsync());
            Assert.Equal((PersistentRepresentation.NoSerializerId, "old.v1", writer), (old.SerializerId, old.Manifest, old.WriterUuid));
            var snapshot = await snapshots.LoadAsync("old", SnapshotSelectionCriteria.Latest);
            Assert.Equal(PersistentRepresentation.NoSerializerId, snapshot?.SerializerId);
            await journal.WriteAsync([JournalData.Write("old", 2, 2)]);
            Assert.Equal(JournalData.SerializerId, (await journal.ReplayAsync("old", 2, 2, 1).SingleAsync()).SerializerId);
        }
        finally
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(path + suffix);
            }
        }
    }
}
