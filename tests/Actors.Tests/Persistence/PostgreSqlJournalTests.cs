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
}
