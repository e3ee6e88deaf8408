using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>The snapshot store on SQLite (embedded mode): one row per (persistence_id, sequence_nr).</summary>
/// <remarks>
/// Snapshots are rare next to events, so every call opens its own pooled connection; SQLite's busy
/// timeout serializes them with the journal's writer. Timestamps are kept to the millisecond.
/// </remarks>
public sealed class SqliteSnapshotStore : ISnapshotStore
{
    private const string Component = "snapshot";

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS snapshot (
            persistence_id TEXT NOT NULL,
            sequence_nr INTEGER NOT NULL,
            created INTEGER NOT NULL,
            manifest TEXT NOT NULL,
            payload BLOB NOT NULL,
            PRIMARY KEY (persistence_id, sequence_nr)
        );
        """,
        // Version 2: the Akka serializer id the payload was written with (earlier rows: NoSerializerId).
        "ALTER TABLE snapshot ADD COLUMN serializer_id INTEGER NOT NULL DEFAULT -1;",
    ];

    private readonly string _connectionString;

    /// <summary>Creates a snapshot store over the SQLite database named by <paramref name="connectionString"/>.</summary>
    public SqliteSnapshotStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _connectionString = connectionString;
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        await SqliteSchema.MigrateAsync(connection, Component, Migrations, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SelectedSnapshot?> LoadAsync(
        string persistenceId,
        SnapshotSelectionCriteria criteria,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence_nr, created, manifest, payload, serializer_id FROM snapshot
            WHERE persistence_id = $pid AND sequence_nr <= $maxSeq AND sequence_nr >= $minSeq
              AND created <= $maxTs AND created >= $minTs
            ORDER BY sequence_nr DESC
            LIMIT 1;
            """;
        AddCriteria(command, persistenceId, criteria);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var metadata = new SnapshotMetadata(
            persistenceId,
            reader.GetInt64(0),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)));
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
        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO snapshot (persistence_id, sequence_nr, created, manifest, payload, serializer_id)
            VALUES ($pid, $seq, $created, $manifest, $payload, $serializer)
            ON CONFLICT (persistence_id, sequence_nr) DO UPDATE
            SET created = excluded.created, manifest = excluded.manifest, payload = excluded.payload,
                serializer_id = excluded.serializer_id;
            """;
        command.Parameters.AddWithValue("$pid", metadata.PersistenceId);
        command.Parameters.AddWithValue("$seq", metadata.SequenceNr);
        command.Parameters.AddWithValue("$created", metadata.Timestamp.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$manifest", manifest);
        command.Parameters.Add("$payload", SqliteType.Blob).Value = payload.ToArray();
        command.Parameters.AddWithValue("$serializer", serializerId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM snapshot WHERE persistence_id = $pid AND sequence_nr = $seq;";
        command.Parameters.AddWithValue("$pid", metadata.PersistenceId);
        command.Parameters.AddWithValue("$seq", metadata.SequenceNr);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(
        string persistenceId,
        SnapshotSelectionCriteria criteria,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM snapshot
            WHERE persistence_id = $pid AND sequence_nr <= $maxSeq AND sequence_nr >= $minSeq
              AND created <= $maxTs AND created >= $minTs;
            """;
        AddCriteria(command, persistenceId, criteria);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static void AddCriteria(SqliteCommand command, string persistenceId, SnapshotSelectionCriteria criteria)
    {
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$maxSeq", criteria.MaxSequenceNr);
        command.Parameters.AddWithValue("$minSeq", criteria.MinSequenceNr);
        command.Parameters.AddWithValue("$maxTs", criteria.MaxTimestamp?.ToUnixTimeMilliseconds() ?? long.MaxValue);
        command.Parameters.AddWithValue("$minTs", criteria.MinTimestamp?.ToUnixTimeMilliseconds() ?? long.MinValue);
    }
}
