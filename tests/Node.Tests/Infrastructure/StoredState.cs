using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// What an embedded node has stored on disk, read behind its back: response body files and the
/// journal rows that a registration leaves (its own events and its scope's reservations; registration entities are
/// not remembered by their shards since issue 17). A rejected call must add none of them.
/// </summary>
public static class StoredState
{
    /// <summary>Every file under the node's body store.</summary>
    public static IReadOnlyList<string> BodyFiles(string dataDirectory)
    {
        var bodies = Path.Combine(dataDirectory, "bodies");
        return Directory.Exists(bodies) ? Directory.GetFiles(bodies, "*", SearchOption.AllDirectories) : [];
    }

    /// <summary>
    /// Journal rows other than Akka's sharding bookkeeping: for scope-index entities, the remembered start of the
    /// scope's index and the coordinator's record of its shard (a mere read such as getIds, or a lookup in a scope
    /// never used before, writes them), and the migration marker every coordinator writes when it first starts.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RegistrationJournalRowsAsync(string dataDirectory)
    {
        var journal = Path.Combine(dataDirectory, "journal.db");
        if (!File.Exists(journal))
        {
            return [];
        }

        await using var connection = new SqliteConnection($"Data Source={journal};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT persistence_id || ' #' || sequence_nr || ' ' || manifest FROM journal
            WHERE persistence_id NOT LIKE '/sharding/scope-indexShard/%'
              AND persistence_id NOT LIKE '/system/sharding/scope-indexCoordinator/%'
              AND NOT (persistence_id LIKE '/system/sharding/%Coordinator/%' AND manifest = 'SM')
            ORDER BY ordering
            """;
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>Fails, listing what was found, unless the node holds no body file and no registration journal row.</summary>
    public static async Task AssertNothingStoredAsync(string dataDirectory, string context)
    {
        var files = BodyFiles(dataDirectory);
        Assert.True(files.Count == 0, $"{context}: expected no stored body, found {string.Join(", ", files)}");
        var rows = await RegistrationJournalRowsAsync(dataDirectory);
        Assert.True(rows.Count == 0, $"{context}: expected no registration in the journal, found {string.Join("; ", rows)}");
    }
}
