using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;

namespace BgFetchCluster.Actors.Persistence.PostgreSql;

/// <summary>
/// The event journal on PostgreSQL (cluster mode). A batch of writes is one autocommit
/// <c>INSERT ... SELECT FROM unnest(...)</c>: one round trip, atomic, whatever the batch size.
/// </summary>
/// <remarks>The caller owns <see cref="NpgsqlDataSource"/>; disposing the journal leaves it open.</remarks>
public sealed class PostgreSqlJournal : IJournal
{
    private const string Component = "journal";

    private static readonly Func<string, string>[] Migrations =
    [
        schema => $"""
            CREATE TABLE IF NOT EXISTS {schema}.journal (
                ordering bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                persistence_id text NOT NULL,
                sequence_nr bigint NOT NULL,
                created timestamptz NOT NULL,
                manifest text NOT NULL,
                payload bytea NOT NULL,
                writer_uuid uuid NOT NULL,
                deleted boolean NOT NULL DEFAULT false,
                CONSTRAINT {PostgreSqlErrors.JournalKeyConstraint} UNIQUE (persistence_id, sequence_nr)
            );
            """,
        // Version 2: the Akka serializer id, because events of several serializers share the table
        // (ours and Akka's remember-entities); earlier rows get PersistentRepresentation.NoSerializerId.
        // Akka's writer GUID is an opaque string, not necessarily a UUID, so the column becomes text.
        schema => $"""
            ALTER TABLE {schema}.journal ADD COLUMN serializer_id integer NOT NULL DEFAULT -1;
            ALTER TABLE {schema}.journal ALTER COLUMN writer_uuid TYPE text USING writer_uuid::text;
            """,
    ];

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly string _insertSql;
    private readonly string _replaySql;
    private readonly string _highestSql;
    private readonly string _highestManySql;
    private readonly string _deleteSql;

    /// <summary>Creates a journal whose tables live in <paramref name="schema"/> of the data source's database.</summary>
    public PostgreSqlJournal(NpgsqlDataSource dataSource, string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _schema = schema;
        var table = PostgreSqlSchema.Quote(schema) + ".journal";
        // unnest expands the parallel arrays into rows in array order, so ordering follows the batch.
        _insertSql = $"""
            INSERT INTO {table} (persistence_id, sequence_nr, created, manifest, payload, writer_uuid, serializer_id)
            SELECT * FROM unnest(@ids, @seqs, @created, @manifests, @payloads, @writers, @serializers);
            """;
        _replaySql = $"""
            SELECT sequence_nr, created, manifest, payload, writer_uuid, serializer_id FROM {table}
            WHERE persistence_id = @pid AND sequence_nr >= @from AND sequence_nr <= @to AND NOT deleted
            ORDER BY sequence_nr
            LIMIT @max;
            """;
        _highestSql = $"SELECT COALESCE(MAX(sequence_nr), 0) FROM {table} WHERE persistence_id = @pid;";
        // One MAX per id rather than `persistence_id = ANY(@ids) GROUP BY persistence_id`: each MAX reads only the
        // last entry of the (persistence_id, sequence_nr) index, where GROUP BY would aggregate every row of the id
        // (the scope index's id holds thousands). The ordinality keeps the answers in the order of the ids.
        _highestManySql = $"""
            SELECT (SELECT COALESCE(MAX(j.sequence_nr), 0) FROM {table} j WHERE j.persistence_id = ids.id)
            FROM unnest(@ids) WITH ORDINALITY AS ids(id, n)
            ORDER BY ids.n;
            """;
        // One statement, one snapshot: the row that is the highest in that snapshot is only marked, and
        // only rows below it are removed, so the highest sequence number can never be written again.
        _deleteSql = $"""
            WITH highest AS (SELECT MAX(sequence_nr) AS nr FROM {table} WHERE persistence_id = @pid),
            marked AS (
                UPDATE {table} SET deleted = true
                WHERE persistence_id = @pid AND sequence_nr <= @to AND sequence_nr = (SELECT nr FROM highest)
            )
            DELETE FROM {table}
            WHERE persistence_id = @pid AND sequence_nr <= @to AND sequence_nr < (SELECT nr FROM highest);
            """;
    }

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        PostgreSqlSchema.MigrateAsync(_dataSource, _schema, Component, Migrations, cancellationToken);

    /// <inheritdoc />
    public async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var count = 0;
        foreach (var write in writes)
        {
            count += write.Events.Count;
        }

        if (count == 0)
        {
            return;
        }

        var ids = new string[count];
        var seqs = new long[count];
        var created = new DateTime[count];
        var manifests = new string[count];
        var payloads = new byte[count][];
        var writers = new string[count];
        var serializers = new int[count];
        var i = 0;
        foreach (var write in writes)
        {
            foreach (var row in write.Events)
            {
                ids[i] = row.PersistenceId;
                seqs[i] = row.SequenceNr;
                created[i] = row.Created.UtcDateTime;
                manifests[i] = row.Manifest;
                payloads[i] = row.Payload.ToArray();
                writers[i] = row.WriterUuid;
                serializers[i] = row.SerializerId;
                i++;
            }
        }

        using var command = _dataSource.CreateCommand(_insertSql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<long[]>("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = seqs });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("created", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = created });
        command.Parameters.Add(new NpgsqlParameter<string[]>("manifests", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = manifests });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = payloads });
        command.Parameters.Add(new NpgsqlParameter<string[]>("writers", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = writers });
        command.Parameters.Add(new NpgsqlParameter<int[]>("serializers", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = serializers });
        try
        {
            // A single statement in autocommit is atomic: every row of every write, or none.
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException exception) when (PostgreSqlErrors.Translate(exception, writes) is { } translated)
        {
            throw translated;
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

        // A data-source command owns its connection and returns it to the pool with the reader.
        using var command = _dataSource.CreateCommand(_replaySql);
        command.Parameters.AddWithValue("pid", persistenceId);
        command.Parameters.AddWithValue("from", fromSequenceNr);
        command.Parameters.AddWithValue("to", toSequenceNr);
        command.Parameters.AddWithValue("max", max);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new PersistentRepresentation(
                persistenceId,
                reader.GetInt64(0),
                reader.GetInt32(5),
                reader.GetString(2),
                reader.GetFieldValue<byte[]>(3),
                reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(1));
        }
    }

    /// <inheritdoc />
    public async Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default)
    {
        // Deleted rows count: the highest row survives every delete precisely so that this stays true.
        using var command = _dataSource.CreateCommand(_highestSql);
        command.Parameters.AddWithValue("pid", persistenceId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(
        IReadOnlyList<string> persistenceIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(persistenceIds);
        if (persistenceIds.Count == 0)
        {
            return [];
        }

        using var command = _dataSource.CreateCommand(_highestManySql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. persistenceIds] });
        var highest = new long[persistenceIds.Count];
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
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
        using var command = _dataSource.CreateCommand(_deleteSql);
        command.Parameters.AddWithValue("pid", persistenceId);
        command.Parameters.AddWithValue("to", toSequenceNr);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
