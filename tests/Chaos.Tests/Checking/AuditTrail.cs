using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using Npgsql;

namespace BgFetchCluster.Chaos.Tests.Checking;

/// <summary>One write that landed in the journal or the body tables, as the audit triggers recorded it.</summary>
/// <param name="Id">Order of the writes: the audit row's identity, drawn when the write's row trigger ran.</param>
/// <param name="At">The server's clock then.</param>
/// <param name="Application">The writing connection's <c>Application Name</c>: which node process wrote.</param>
/// <param name="Table"><c>journal</c>, <c>body_records</c> or <c>body_chunks</c>.</param>
/// <param name="Kind"><c>event</c> (journal insert), <c>mark</c> (journal update), <c>claim</c> (a new writer generation for a record body), <c>length</c> (a chunk write's length update), <c>chunk</c>.</param>
/// <param name="Stream">The journal's persistence id, or the body's registration key (hex) and record index.</param>
/// <param name="Position">Sequence number, stored length or chunk offset.</param>
/// <param name="Writer">Akka's writer id of a journal row, or the body record's generation.</param>
/// <param name="Detail">The journal row's manifest.</param>
public sealed record AuditRow(long Id, DateTime At, string Application, string Table, string Kind, string Stream, long Position, string? Writer, string? Detail)
{
    /// <inheritdoc />
    public override string ToString() => $"#{Id} {At:HH:mm:ss.fff} {Application} {Table} {Kind} {Stream} @{Position}{(Writer is null ? "" : " writer " + Writer)}{(Detail is null ? "" : " " + Detail)}";
}

/// <summary>
/// Audit triggers on the product's journal and body tables: every row written or updated there adds a row to
/// <c>chaos_audit</c> in the same transaction, naming the connection's <c>Application Name</c> (each node process has
/// its own, <see cref="Node.Tests.Infrastructure.TestCluster.ApplicationNameOf"/>). So the database itself, not a
/// log, says which process wrote what and in which order; a rolled-back write leaves no audit row either.
/// </summary>
public static class AuditTrail
{
    private const string Sql = """
        CREATE TABLE chaos_audit (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            application_name text NOT NULL DEFAULT current_setting('application_name'),
            tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
            table_name text NOT NULL,
            kind text NOT NULL,
            stream text NOT NULL,
            position bigint NOT NULL,
            writer text,
            detail text
        );

        CREATE FUNCTION chaos_audit_journal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO chaos_audit (table_name, kind, stream, position, writer, detail)
            VALUES ('journal', CASE WHEN TG_OP = 'INSERT' THEN 'event' ELSE 'mark' END,
                    NEW.persistence_id, NEW.sequence_nr, NEW.writer_uuid, NEW.manifest);
            RETURN NULL;
        END $$;

        CREATE FUNCTION chaos_audit_body_records() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO chaos_audit (table_name, kind, stream, position, writer)
            VALUES ('body_records',
                    CASE WHEN TG_OP = 'INSERT' OR NEW.generation <> OLD.generation THEN 'claim' ELSE 'length' END,
                    encode(NEW.registration_key, 'hex') || '/' || NEW.record_index, NEW.length, NEW.generation::text);
            RETURN NULL;
        END $$;

        CREATE FUNCTION chaos_audit_body_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO chaos_audit (table_name, kind, stream, position, detail)
            VALUES ('body_chunks', 'chunk', encode(NEW.registration_key, 'hex') || '/' || NEW.record_index,
                    NEW.chunk_offset, length(NEW.data)::text);
            RETURN NULL;
        END $$;

        CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON journal FOR EACH ROW EXECUTE FUNCTION chaos_audit_journal();
        CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON body_records FOR EACH ROW EXECUTE FUNCTION chaos_audit_body_records();
        CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON body_chunks FOR EACH ROW EXECUTE FUNCTION chaos_audit_body_chunks();
        """;

    /// <summary>
    /// Creates the product's tables (with its own migrations, as the nodes would on first use) as the role the nodes
    /// log in as, then the audit table and its triggers. Runs before the first node starts, so no write escapes.
    /// </summary>
    public static async Task InstallAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await new PostgreSqlJournal(dataSource).InitializeAsync(cancellationToken);
        await new PostgreSqlSnapshotStore(dataSource).InitializeAsync(cancellationToken);
        await new PostgreSqlResponseStore(dataSource).InitializeAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(Sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every audited write, in the order the writes happened.</summary>
    public static async Task<IReadOnlyList<AuditRow>> ReadAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT id, at, application_name, table_name, kind, stream, position, writer, detail FROM chaos_audit ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<AuditRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AuditRow(
                reader.GetInt64(0), reader.GetDateTime(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetInt64(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return rows;
    }
}
