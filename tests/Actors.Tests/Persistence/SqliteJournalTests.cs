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
}
