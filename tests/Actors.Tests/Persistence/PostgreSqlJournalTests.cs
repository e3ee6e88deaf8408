using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

public sealed class PostgreSqlJournalTests(PostgreSqlTestSchema<PostgreSqlJournalTests> database)
    : JournalContractTests, IClassFixture<PostgreSqlTestSchema<PostgreSqlJournalTests>>
{
    protected override async Task<IJournal> CreateJournalAsync()
    {
        var journal = new PostgreSqlJournal(database.DataSource, database.Schema);
        await journal.InitializeAsync();
        return journal;
    }

    protected override async Task<long> ReadOrderingAsync(string persistenceId, long sequenceNr)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT ordering FROM \"{database.Schema}\".journal WHERE persistence_id = @pid AND sequence_nr = @seq;");
        command.Parameters.AddWithValue("pid", persistenceId);
        command.Parameters.AddWithValue("seq", sequenceNr);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task InitializeAsync_ManyNodesOnAFreshSchema_AllSucceed()
    {
        var schema = database.Schema + "_race";
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var nodes = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                await start.Task;
                await new PostgreSqlJournal(database.DataSource, schema).InitializeAsync();
                await new PostgreSqlSnapshotStore(database.DataSource, schema).InitializeAsync();
            })).ToArray();
            start.SetResult();
            await Task.WhenAll(nodes).WaitAsync(Deadline);

            var journal = new PostgreSqlJournal(database.DataSource, schema);
            await journal.WriteAsync([Write("after-race", 1, 2)]);
            Assert.Equal(2, await journal.ReadHighestSequenceNrAsync("after-race"));
        }
        finally
        {
            await using var drop = database.DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;");
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task InitializeAsync_Version1Schema_MigratesAndKeepsItsRows()
    {
        var schema = database.Schema + "_v1";
        var writer = Guid.NewGuid();
        try
        {
            // The schema as version 1 released it (writer_uuid was a uuid), with one event and one snapshot.
            await using (var command = database.DataSource.CreateCommand($"""
                CREATE SCHEMA "{schema}";
                CREATE TABLE "{schema}".schema_version (component text PRIMARY KEY, version integer NOT NULL);
                CREATE TABLE "{schema}".journal (
                    ordering bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, persistence_id text NOT NULL,
                    sequence_nr bigint NOT NULL, created timestamptz NOT NULL, manifest text NOT NULL,
                    payload bytea NOT NULL, writer_uuid uuid NOT NULL, deleted boolean NOT NULL DEFAULT false,
                    CONSTRAINT journal_persistence_id_sequence_nr_key UNIQUE (persistence_id, sequence_nr));
                CREATE TABLE "{schema}".snapshot (
                    persistence_id text NOT NULL, sequence_nr bigint NOT NULL, created timestamptz NOT NULL,
                    manifest text NOT NULL, payload bytea NOT NULL, PRIMARY KEY (persistence_id, sequence_nr));
                INSERT INTO "{schema}".schema_version VALUES ('journal', 1), ('snapshot', 1);
                INSERT INTO "{schema}".journal (persistence_id, sequence_nr, created, manifest, payload, writer_uuid)
                VALUES ('old', 1, now(), 'old.v1', '\x7b7d', '{writer}');
                INSERT INTO "{schema}".snapshot VALUES ('old', 1, now(), 'old.snapshot.v1', '\x7b7d');
                """))
            {
                await command.ExecuteNonQueryAsync();
            }

            var journal = new PostgreSqlJournal(database.DataSource, schema);
            await journal.InitializeAsync();
            var snapshots = new PostgreSqlSnapshotStore(database.DataSource, schema);
            await snapshots.InitializeAsync();

            var old = Assert.Single(await journal.ReplayAsync("old", 1, long.MaxValue, long.MaxValue).ToListAsync());
            Assert.Equal((PersistentRepresentation.NoSerializerId, "old.v1", writer.ToString("D")), (old.SerializerId, old.Manifest, old.WriterUuid));
            var snapshot = await snapshots.LoadAsync("old", SnapshotSelectionCriteria.Latest);
            Assert.Equal(PersistentRepresentation.NoSerializerId, snapshot?.SerializerId);
            await journal.WriteAsync([Write("old", 2, 2)]);
            Assert.Equal(SerializerId, (await journal.ReplayAsync("old", 2, 2, 1).SingleAsync()).SerializerId);
            await Assert.ThrowsAsync<JournalConcurrencyException>(() => journal.WriteAsync([Write("old", 1, 1)]));
        }
        finally
        {
            await using var drop = database.DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
