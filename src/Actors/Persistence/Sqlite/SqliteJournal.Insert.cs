using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>The prepared insert shared by every row the writer connection stores.</summary>
public sealed partial class SqliteJournal
{
    private static SqliteCommand CreateInsert(SqliteConnection writer)
    {
        var insert = writer.CreateCommand();
        insert.CommandText = """
            INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, writer_uuid, serializer_id)
            VALUES ($pid, $seq, $created, $manifest, $payload, $writer, $serializer);
            """;
        insert.Parameters.Add("$pid", SqliteType.Text);
        insert.Parameters.Add("$seq", SqliteType.Integer);
        insert.Parameters.Add("$created", SqliteType.Integer);
        insert.Parameters.Add("$manifest", SqliteType.Text);
        insert.Parameters.Add("$payload", SqliteType.Blob);
        insert.Parameters.Add("$writer", SqliteType.Text);
        insert.Parameters.Add("$serializer", SqliteType.Integer);
        // Compiled once; every row of every transaction only rebinds the values.
        insert.Prepare();
        return insert;
    }

    private static async Task InsertAsync(SqliteCommand insert, PersistentRepresentation row, CancellationToken cancellationToken)
    {
        var parameters = insert.Parameters;
        parameters[0].Value = row.PersistenceId;
        parameters[1].Value = row.SequenceNr;
        parameters[2].Value = row.Created.ToUnixTimeMilliseconds();
        parameters[3].Value = row.Manifest;
        parameters[4].Value = row.Payload.ToArray();
        parameters[5].Value = row.WriterUuid;
        parameters[6].Value = row.SerializerId;
        try
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException exception) when (SqliteErrors.Translate(exception, row) is { } translated)
        {
            throw translated;
        }
    }

    private (SqliteConnection Writer, SqliteCommand Insert) RequireWriter() =>
        _writer is not null && _insert is not null
            ? (_writer, _insert)
            : throw new InvalidOperationException("The SQLite journal is not initialized (or was disposed): call InitializeAsync first.");
}
