using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>
/// The event journal on SQLite (embedded mode): WAL, synchronous=FULL, one long-lived writer
/// connection with a prepared insert, and a fresh (pooled) connection per read.
/// </summary>
public sealed partial class SqliteJournal : IJournal
{
    private const string Component = "journal";

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS journal (
            ordering INTEGER PRIMARY KEY AUTOINCREMENT,
            persistence_id TEXT NOT NULL,
            sequence_nr INTEGER NOT NULL,
            created INTEGER NOT NULL,
            manifest TEXT NOT NULL,
            payload BLOB NOT NULL,
            writer_uuid TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            UNIQUE (persistence_id, sequence_nr)
        );
        """,
        // Version 2: the Akka serializer id, because events of several serializers share the table
        // (ours and Akka's remember-entities). Earlier rows get PersistentRepresentation.NoSerializerId.
        "ALTER TABLE journal ADD COLUMN serializer_id INTEGER NOT NULL DEFAULT -1;",
    ];

    private readonly string _connectionString;

    // SQLite admits one writer per file anyway; the semaphore keeps our own writers from queueing
    // inside SQLite's busy handler and guards the shared connection and prepared command.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private SqliteCommand? _insert;

    /// <summary>Creates a journal over the SQLite database named by <paramref name="connectionString"/>.</summary>
    /// <remarks>The database must be a file (or shared-cache memory): reads use their own connections.</remarks>
    public SqliteJournal(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _connectionString = connectionString;
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _writer ??= await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
            await SqliteSchema.MigrateAsync(_writer, Component, Migrations, cancellationToken).ConfigureAwait(false);
            _insert ??= CreateInsert(_writer);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (writer, insert) = RequireWriter();
            using var transaction = writer.BeginTransaction(deferred: false);
            insert.Transaction = transaction;
            foreach (var write in writes)
            {
                foreach (var row in write.Events)
                {
                    await InsertAsync(insert, row, cancellationToken).ConfigureAwait(false);
                }
            }

            // Disposing the transaction without this commit rolls every row back: all or nothing.
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId,
        long fromSequenceNr,
        long toSequenceNr,
        long max,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (max <= 0 || fromSequenceNr > toSequenceNr)
        {
            yield break;
        }

        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence_nr, created, manifest, payload, writer_uuid, serializer_id FROM journal
            WHERE persistence_id = $pid AND sequence_nr >= $from AND sequence_nr <= $to AND deleted = 0
            ORDER BY sequence_nr
            LIMIT $max;
            """;
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.Parameters.AddWithValue("$max", max);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new PersistentRepresentation(
                persistenceId,
                reader.GetInt64(0),
                reader.GetInt32(5),
                reader.GetString(2),
                reader.GetFieldValue<byte[]>(3),
                reader.GetString(4),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)));
        }
    }

    /// <inheritdoc />
    public async Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default)
    {
        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        // Deleted rows count: the highest row survives every delete precisely so that this stays true.
        command.CommandText = "SELECT COALESCE(MAX(sequence_nr), 0) FROM journal WHERE persistence_id = $pid;";
        command.Parameters.AddWithValue("$pid", persistenceId);
        var highest = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(highest, CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The ids travel as one JSON array parameter (<c>json_each</c>), so no batch can reach SQLite's limit on bound
    /// parameters; each id reads only the last entry of the (persistence_id, sequence_nr) index.
    /// </remarks>
    public async Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(
        IReadOnlyList<string> persistenceIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(persistenceIds);
        if (persistenceIds.Count == 0)
        {
            return [];
        }

        using var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT COALESCE((SELECT sequence_nr FROM journal WHERE persistence_id = ids.value ORDER BY sequence_nr DESC LIMIT 1), 0)
            FROM json_each($ids) AS ids
            ORDER BY ids.key;
            """;
        command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(persistenceIds, SqliteJsonContext.Default.IReadOnlyListString));
        var highest = new long[persistenceIds.Count];
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var i = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            highest[i++] = reader.GetInt64(0);
        }

        return i == highest.Length
            ? highest
            : throw new InvalidOperationException($"Asked for {highest.Length} highest sequence numbers, got {i}.");
    }

    /// <inheritdoc />
    public async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (writer, _) = RequireWriter();
            using var transaction = writer.BeginTransaction(deferred: false);
            using var command = writer.CreateCommand();
            command.Transaction = transaction;
            // The highest row is only marked, never removed, so its sequence number can never be
            // written again by a stale copy of the entity (docs/architecture.md "Persistence").
            command.CommandText = """
                UPDATE journal SET deleted = 1
                WHERE persistence_id = $pid AND sequence_nr <= $to
                  AND sequence_nr = (SELECT MAX(sequence_nr) FROM journal WHERE persistence_id = $pid);
                DELETE FROM journal
                WHERE persistence_id = $pid AND sequence_nr <= $to
                  AND sequence_nr < (SELECT MAX(sequence_nr) FROM journal WHERE persistence_id = $pid);
                """;
            command.Parameters.AddWithValue("$pid", persistenceId);
            command.Parameters.AddWithValue("$to", toSequenceNr);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_insert is not null)
            {
                await _insert.DisposeAsync().ConfigureAwait(false);
                _insert = null;
            }

            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
