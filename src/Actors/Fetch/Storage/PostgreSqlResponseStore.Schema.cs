using BgFetchCluster.Actors.Persistence.PostgreSql;
using Npgsql;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>The tables, the statements and the claim of a record by a new writer.</summary>
public sealed partial class PostgreSqlResponseStore
{
    private const string Component = "bodies";

    private static readonly Func<string, string>[] Migrations =
    [
        // Chunks are stored EXTERNAL: uncompressed out of line. Bodies are mostly compressed already, so pglz would
        // spend CPU for nothing, and substring() on an uncompressed value reads only the slice it needs.
        schema => $"""
            CREATE SEQUENCE IF NOT EXISTS {schema}.body_generations;
            CREATE TABLE IF NOT EXISTS {schema}.body_records (
                registration_key bytea NOT NULL,
                record_index integer NOT NULL,
                generation bigint NOT NULL,
                length bigint NOT NULL,
                PRIMARY KEY (registration_key, record_index)
            );
            CREATE TABLE IF NOT EXISTS {schema}.body_chunks (
                registration_key bytea NOT NULL,
                record_index integer NOT NULL,
                chunk_offset bigint NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (registration_key, record_index, chunk_offset)
            );
            ALTER TABLE {schema}.body_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
            """,
    ];

    private readonly Lock _gate = new();
    private Task? _initialized;

    /// <summary>Creates or migrates the store's tables; safe from several nodes at once. Called on first use if not before.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        EnsureInitializedAsync(new BodyRecord(string.Empty, -1), cancellationToken);

    /// <summary>The migration, started once and shared; a failed one is retried by the next call.</summary>
    private async Task EnsureInitializedAsync(BodyRecord record, CancellationToken cancellationToken)
    {
        Task initialized;
        lock (_gate)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                // Not the caller's token: one caller giving up must not fail the migration the others wait for.
                _initialized = Resilience.ExecuteAsync(
                    token => new ValueTask(PostgreSqlSchema.MigrateAsync(_dataSource, Schema, Component, Migrations, token)),
                    CancellationToken.None).AsTask();
            }

            initialized = _initialized;
        }

        try
        {
            await initialized.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, record.RegistrationKey, record.RecordIndex, "prepare the store for");
        }
    }

    /// <summary>
    /// Gives the record a new writer generation and cuts its body to <paramref name="offset"/>, in one transaction;
    /// throws <see cref="ResponseStoreFailure.MissingPrefix"/> (changing nothing) if fewer bytes are stored.
    /// </summary>
    private async Task<long> ClaimAsync(BodyRecord record, long offset, CancellationToken cancellationToken)
    {
        try
        {
            // A retry after a failure midway claims again: a generation taken by a claim whose commit was lost is
            // simply never used, and the cut is the same.
            return await Resilience.ExecuteAsync(token => new ValueTask<long>(ClaimOnceAsync(record, offset, token)), cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, record.RegistrationKey, record.RecordIndex, "open");
        }
    }

    private async Task<long> ClaimOnceAsync(BodyRecord record, long offset, CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);

        // The claim locks the record's row first: a zombie's chunk write either committed before it (and is cut
        // below, by statements whose fresh snapshots see it) or waits for it and then finds its generation gone.
        object? claimed;
        using (var claim = new NpgsqlCommand(PostgreSqlConnections.AbandonedTransactionGuard + (offset == 0 ? Sql.ClaimFresh : Sql.ClaimAt), connection, transaction))
        {
            record.AddKey(claim.Parameters);
            if (offset > 0)
            {
                claim.Parameters.AddWithValue("offset", offset);
            }

            claimed = await claim.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        if (claimed is not long generation)
        {
            using var read = new NpgsqlCommand(Sql.ReadLength, connection, transaction);
            record.AddKey(read.Parameters);
            var stored = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long? ?? 0;
            throw PostgreSqlResponseBodyWriter.MissingPrefix(record, offset, stored);
        }

        foreach (var sql in (string[])[Sql.DropChunksFrom, Sql.CutChunkAt])
        {
            using var cut = new NpgsqlCommand(sql, connection, transaction);
            record.AddKey(cut.Parameters);
            cut.Parameters.AddWithValue("offset", offset);
            cut.Parameters.AddWithValue("chunk", offset - (offset % ChunkSize));
            await cut.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return generation;
    }

    /// <summary>The store's SQL, with the schema spliced in once.</summary>
    internal sealed class Statements(string schema)
    {
        /// <summary>Offset 0: the record starts fresh, whether or not it existed.</summary>
        public string ClaimFresh { get; } = $"""
            INSERT INTO {schema}.body_records (registration_key, record_index, generation, length)
            VALUES (@key, @index, {NextGeneration(schema)}, 0)
            ON CONFLICT (registration_key, record_index) DO UPDATE SET generation = excluded.generation, length = 0
            RETURNING generation;
            """;

        /// <summary>A resume: only if at least <c>@offset</c> bytes are stored.</summary>
        public string ClaimAt { get; } = $"""
            UPDATE {schema}.body_records SET generation = {NextGeneration(schema)}, length = @offset
            WHERE registration_key = @key AND record_index = @index AND length >= @offset
            RETURNING generation;
            """;

        public string DropChunksFrom { get; } = $"""
            DELETE FROM {schema}.body_chunks
            WHERE registration_key = @key AND record_index = @index AND chunk_offset >= @offset;
            """;

        /// <summary>The tail of the chunk <c>@chunk</c> that holds byte <c>@offset</c>.</summary>
        public string CutChunkAt { get; } = $"""
            UPDATE {schema}.body_chunks SET data = substring(data FROM 1 FOR (@offset - @chunk)::integer)
            WHERE registration_key = @key AND record_index = @index AND chunk_offset = @chunk AND length(data) > @offset - @chunk;
            """;

        /// <summary>
        /// Stores a chunk only if the writer's generation still owns the record: the record's row is updated (and
        /// locked) first, and the chunk is inserted only from the row that update returns.
        /// </summary>
        public string WriteChunk { get; } = $"""
            WITH owner AS (
                UPDATE {schema}.body_records SET length = @length
                WHERE registration_key = @key AND record_index = @index AND generation = @generation
                RETURNING 1
            )
            INSERT INTO {schema}.body_chunks (registration_key, record_index, chunk_offset, data)
            SELECT @key, @index, @chunk, @data FROM owner
            ON CONFLICT (registration_key, record_index, chunk_offset) DO UPDATE SET data = excluded.data;
            """;

        public string CheckOwner { get; } = $"""
            SELECT length FROM {schema}.body_records
            WHERE registration_key = @key AND record_index = @index AND generation = @generation;
            """;

        private static string NextGeneration(string schema) =>
            $"nextval('{schema.Replace("'", "''", StringComparison.Ordinal)}.body_generations')";

        public string ReadLength { get; } = $"SELECT length FROM {schema}.body_records WHERE registration_key = @key AND record_index = @index;";

        /// <summary>Chunk <c>@chunk</c> from its byte <c>@from</c> (1-based, as SQL counts) on.</summary>
        public string ReadChunk { get; } = $"""
            SELECT substring(data FROM @from) FROM {schema}.body_chunks
            WHERE registration_key = @key AND record_index = @index AND chunk_offset = @chunk;
            """;

        public string ReadPrefix { get; } = $"""
            SELECT chunk_offset, data FROM {schema}.body_chunks
            WHERE registration_key = @key AND record_index = @index AND chunk_offset < @offset
            ORDER BY chunk_offset;
            """;

        public string StoredBytes { get; } = $"SELECT COALESCE(SUM(length), 0)::bigint FROM {schema}.body_records WHERE registration_key = @key;";

        public string FenceWriters { get; } = $"UPDATE {schema}.body_records SET generation = {NextGeneration(schema)} WHERE registration_key = @key;";

        public string DeleteRecords { get; } = $"DELETE FROM {schema}.body_records WHERE registration_key = @key;";

        public string DeleteChunks { get; } = $"DELETE FROM {schema}.body_chunks WHERE registration_key = @key;";
    }
}
