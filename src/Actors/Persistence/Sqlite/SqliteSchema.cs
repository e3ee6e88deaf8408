using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>
/// Versioned, idempotent schema migrations for the SQLite stores, recorded per component in a small
/// <c>schema_version</c> table shared by the journal and the snapshot store.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>
    /// Applies the migrations after the component's recorded version. <paramref name="migrations"/>[i]
    /// brings the component from version i to i + 1; released entries must never change.
    /// </summary>
    public static async Task MigrateAsync(
        SqliteConnection connection,
        string component,
        IReadOnlyList<string> migrations,
        CancellationToken cancellationToken)
    {
        // WAL lets readers run beside the single writer. The mode is stored in the file, and it cannot
        // be switched inside a transaction, so it is set before the migration transaction begins.
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);

        // An immediate transaction takes the write lock up front, so two processes migrating the same
        // file run one after the other instead of both reading version 0.
        using var transaction = connection.BeginTransaction(deferred: false);
        await ExecuteAsync(
            connection,
            transaction,
            "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL);",
            cancellationToken).ConfigureAwait(false);

        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT version FROM schema_version WHERE component = $component;";
        read.Parameters.AddWithValue("$component", component);
        var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);

        for (var version = current; version < migrations.Count; version++)
        {
            await ExecuteAsync(connection, transaction, migrations[version], cancellationToken).ConfigureAwait(false);
        }

        if (current < migrations.Count)
        {
            using var write = connection.CreateCommand();
            write.Transaction = transaction;
            write.CommandText = """
                INSERT INTO schema_version (component, version) VALUES ($component, $version)
                ON CONFLICT (component) DO UPDATE SET version = excluded.version;
                """;
            write.Parameters.AddWithValue("$component", component);
            write.Parameters.AddWithValue("$version", migrations.Count);
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(
        SqliteConnection connection,
        SqliteTransaction? transaction,
        string sql,
        CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
