using Npgsql;
using NpgsqlTypes;

namespace BgFetchCluster.Actors.Persistence.PostgreSql;

/// <summary>The snapshot store on PostgreSQL (cluster mode): one row per (persistence_id, sequence_nr).</summary>
/// <remarks>
/// The caller owns <see cref="NpgsqlDataSource"/>. Timestamps keep PostgreSQL's microsecond precision.
/// </remarks>
public sealed class PostgreSqlSnapshotStore : ISnapshotStore
{
    private const string Component = "snapshot";

    private static readonly Func<string, string>[] Migrations =
    [
        schema => $"""
            CREATE TABLE IF NOT EXISTS {schema}.snapshot (
                persistence_id text NOT NULL,
                sequence_nr bigint NOT NULL,
                created timestamptz NOT NULL,
                manifest text NOT NULL,
                payload bytea NOT NULL,
                PRIMARY KEY (persistence_id, sequence_nr)
            );
            """,
        // Version 2: the Akka serializer id the payload was written with (earlier rows: NoSerializerId).
        schema => $"ALTER TABLE {schema}.snapshot ADD COLUMN serializer_id integer NOT NULL DEFAULT -1;",
    ];

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly string _table;

    /// <summary>Creates a snapshot store whose table lives in <paramref name="schema"/>.</summary>
    public PostgreSqlSnapshotStore(NpgsqlDataSource dataSource, string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _schema = schema;
        _table = PostgreSqlSchema.Quote(schema) + ".snapshot";
    }

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        PostgreSqlSchema.MigrateAsync(_dataSource, _schema, Component, Migrations, cancellationToken);

    /// <inheritdoc />
    public async Task<SelectedSnapshot?> LoadAsync(
        string persistenceId,
        SnapshotSelectionCriteria criteria,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        using var command = _dataSource.CreateCommand($"""
            SELECT sequence_nr, created, manifest, payload, serializer_id FROM {_table}
            WHERE persistence_id = @pid AND sequence_nr <= @maxSeq AND sequence_nr >= @minSeq
              AND (@maxTs::timestamptz IS NULL OR created <= @maxTs::timestamptz)
              AND (@minTs::timestamptz IS NULL OR created >= @minTs::timestamptz)
            ORDER BY sequence_nr DESC
            LIMIT 1;
            """);
        AddCriteria(command, persistenceId, criteria);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1));
        return new SelectedSnapshot(metadata, reader.GetInt32(4), reader.GetString(2), reader.GetFieldValue<byte[]>(3));
    }

    /// <inheritdoc />
    public async Task SaveAsync(
        SnapshotMetadata metadata,
        int serializerId,
        string manifest,
        ReadOnlyMemory<byte> payload,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_table} (persistence_id, sequence_nr, created, manifest, payload, serializer_id)
            VALUES (@pid, @seq, @created, @manifest, @payload, @serializer)
            ON CONFLICT (persistence_id, sequence_nr) DO UPDATE
            SET created = excluded.created, manifest = excluded.manifest, payload = excluded.payload,
                serializer_id = excluded.serializer_id;
            """);
        command.Parameters.AddWithValue("pid", metadata.PersistenceId);
        command.Parameters.AddWithValue("seq", metadata.SequenceNr);
        command.Parameters.AddWithValue("created", NpgsqlDbType.TimestampTz, metadata.Timestamp.UtcDateTime);
        command.Parameters.AddWithValue("manifest", manifest);
        command.Parameters.AddWithValue("payload", NpgsqlDbType.Bytea, payload.ToArray());
        command.Parameters.AddWithValue("serializer", serializerId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        using var command = _dataSource.CreateCommand($"DELETE FROM {_table} WHERE persistence_id = @pid AND sequence_nr = @seq;");
        command.Parameters.AddWithValue("pid", metadata.PersistenceId);
        command.Parameters.AddWithValue("seq", metadata.SequenceNr);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(
        string persistenceId,
        SnapshotSelectionCriteria criteria,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        using var command = _dataSource.CreateCommand($"""
            DELETE FROM {_table}
            WHERE persistence_id = @pid AND sequence_nr <= @maxSeq AND sequence_nr >= @minSeq
              AND (@maxTs::timestamptz IS NULL OR created <= @maxTs::timestamptz)
              AND (@minTs::timestamptz IS NULL OR created >= @minTs::timestamptz);
            """);
        AddCriteria(command, persistenceId, criteria);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static void AddCriteria(NpgsqlCommand command, string persistenceId, SnapshotSelectionCriteria criteria)
    {
        command.Parameters.AddWithValue("pid", persistenceId);
        command.Parameters.AddWithValue("maxSeq", criteria.MaxSequenceNr);
        command.Parameters.AddWithValue("minSeq", criteria.MinSequenceNr);
        command.Parameters.AddWithValue(
            "maxTs",
            NpgsqlDbType.TimestampTz,
            criteria.MaxTimestamp is { } maxTimestamp ? maxTimestamp.UtcDateTime : DBNull.Value);
        command.Parameters.AddWithValue(
            "minTs",
            NpgsqlDbType.TimestampTz,
            criteria.MinTimestamp is { } minTimestamp ? minTimestamp.UtcDateTime : DBNull.Value);
    }
}
