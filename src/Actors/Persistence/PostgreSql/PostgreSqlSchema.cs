using Npgsql;

namespace BgFetchCluster.Actors.Persistence.PostgreSql;

/// <summary>
/// Versioned, idempotent schema migrations for the PostgreSQL stores, recorded per component in a
/// <c>schema_version</c> table of the target schema and serialized across nodes by an advisory lock.
/// </summary>
internal static class PostgreSqlSchema
{
    /// <summary>The schema name as a quoted SQL identifier, safe to splice into statements.</summary>
    public static string Quote(string schema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        return "\"" + schema.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>
    /// Applies the migrations after the component's recorded version. <paramref name="migrations"/>[i]
    /// brings the component from version i to i + 1 and receives the quoted schema name.
    /// </summary>
    public static async Task MigrateAsync(
        NpgsqlDataSource dataSource,
        string schema,
        string component,
        IReadOnlyList<Func<string, string>> migrations,
        CancellationToken cancellationToken)
    {
        var quoted = Quote(schema);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);

        // IF NOT EXISTS alone still races: two nodes creating the same schema or table at once can both
        // pass the check and one then fails on the catalog's unique index. The transaction-scoped lock
        // makes concurrent nodes migrate one after the other; it is released at commit or rollback.
        using (var lockCommand = new NpgsqlCommand(PostgreSqlConnections.AbandonedTransactionGuard + "SELECT pg_advisory_xact_lock(hashtextextended(@key, 0));", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", "bgfetch.schema:" + schema);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(
            connection,
            transaction,
            $"""
            CREATE SCHEMA IF NOT EXISTS {quoted};
            CREATE TABLE IF NOT EXISTS {quoted}.schema_version (component text PRIMARY KEY, version integer NOT NULL);
            """,
            cancellationToken).ConfigureAwait(false);

        int current;
        using (var read = new NpgsqlCommand($"SELECT version FROM {quoted}.schema_version WHERE component = @component;", connection, transaction))
        {
            read.Parameters.AddWithValue("component", component);
            current = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int version ? version : 0;
        }

        for (var version = current; version < migrations.Count; version++)
        {
            await ExecuteAsync(connection, transaction, migrations[version](quoted), cancellationToken).ConfigureAwait(false);
        }

        if (current < migrations.Count)
        {
            using var write = new NpgsqlCommand(
                $"""
                INSERT INTO {quoted}.schema_version (component, version) VALUES (@component, @version)
                ON CONFLICT (component) DO UPDATE SET version = excluded.version;
                """,
                connection,
                transaction);
            write.Parameters.AddWithValue("component", component);
            write.Parameters.AddWithValue("version", migrations.Count);
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string sql,
        CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
