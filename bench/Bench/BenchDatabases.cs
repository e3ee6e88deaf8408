using System.Diagnostics;
using BgFetchCluster.Actors.Fetch;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace BgFetchCluster.Bench;

/// <summary>A database the persistence benchmark runs against, with its raw-driver peer.</summary>
internal interface IBenchDatabase : IAsyncDisposable
{
    string Name { get; }

    StorageProvider Provider { get; }

    /// <summary>A description for the report: engine version and where the data lives.</summary>
    Task<string> DescribeAsync();

    /// <summary>
    /// A fresh, empty place for one plugin's tables (SQLite: a new file; PostgreSQL: a new schema, created),
    /// so no plugin reads another's rows or indexes.
    /// </summary>
    Task<(string ConnectionString, string Schema)> NewStoreAsync(string label);

    /// <summary>Inserts <paramref name="rows"/> journal-shaped rows in one transaction with the bare driver.</summary>
    Task<TimeSpan> RawInsertAsync(IReadOnlyList<(string PersistenceId, long SequenceNr, byte[] Payload)> rows);
}

/// <summary>SQLite in a temporary directory: one file per plugin run, and one for the raw peer.</summary>
internal sealed class SqliteDatabase : IBenchDatabase
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bgfetch-bench-").FullName;

    public string Name => "SQLite";

    public StorageProvider Provider => StorageProvider.Sqlite;

    private string RawConnectionString => new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "raw.db") }.ToString();

    public async Task<string> DescribeAsync()
    {
        await using var connection = new SqliteConnection(RawConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sqlite_version();";
        return $"SQLite {await command.ExecuteScalarAsync()} (WAL, synchronous=FULL) in {_directory}";
    }

    public Task<(string ConnectionString, string Schema)> NewStoreAsync(string label)
    {
        var file = Path.Combine(_directory, $"{label}-{Guid.NewGuid().ToString("N")[..8]}.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = file }.ToString();
        return Task.FromResult((connectionString, "public"));
    }

    public async Task<TimeSpan> RawInsertAsync(IReadOnlyList<(string PersistenceId, long SequenceNr, byte[] Payload)> rows)
    {
        await using var connection = new SqliteConnection(RawConnectionString);
        await connection.OpenAsync();
        await using (var setup = connection.CreateCommand())
        {
            // The same settings and table as SqliteJournal: WAL, FULL sync, UNIQUE(persistence_id, sequence_nr).
            setup.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
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
                """;
            await setup.ExecuteNonQueryAsync();
        }

        var writer = Guid.NewGuid().ToString("D");
        var stopwatch = Stopwatch.StartNew();
        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, writer_uuid)
                VALUES ($pid, $seq, $created, $manifest, $payload, $writer);
                """;
            var pid = insert.Parameters.Add("$pid", SqliteType.Text);
            var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
            var created = insert.Parameters.Add("$created", SqliteType.Integer);
            var manifest = insert.Parameters.Add("$manifest", SqliteType.Text);
            var payload = insert.Parameters.Add("$payload", SqliteType.Blob);
            var writerUuid = insert.Parameters.Add("$writer", SqliteType.Text);
            insert.Prepare();
            manifest.Value = "bench.written.v1";
            writerUuid.Value = writer;
            foreach (var row in rows)
            {
                pid.Value = row.PersistenceId;
                seq.Value = row.SequenceNr;
                created.Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                payload.Value = row.Payload;
                await insert.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        return stopwatch.Elapsed;
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>PostgreSQL: fresh schemas <c>bench_xxxxxxxx</c> of the given database, dropped afterwards.</summary>
internal sealed class PostgreSqlDatabase(string connectionString) : IBenchDatabase
{
    private readonly string _connectionString = PooledConnectionString(connectionString);
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(PooledConnectionString(connectionString));
    private readonly string _schema = NewSchemaName();
    private readonly List<string> _schemas = [];
    private bool _rawTableCreated;

    public string Name => "PostgreSQL";

    public StorageProvider Provider => StorageProvider.PostgreSql;

    public async Task<string> DescribeAsync()
    {
        await using var command = _dataSource.CreateCommand("SELECT version(), current_setting('synchronous_commit'), current_setting('fsync');");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return $"{reader.GetString(0)} (synchronous_commit={reader.GetString(1)}, fsync={reader.GetString(2)}), schema {_schema}";
    }

    public async Task<(string ConnectionString, string Schema)> NewStoreAsync(string label)
    {
        // Akka.Persistence.Sql creates its tables but not their schema.
        var schema = NewSchemaName();
        _schemas.Add(schema);
        await using var create = _dataSource.CreateCommand($"CREATE SCHEMA {schema};");
        await create.ExecuteNonQueryAsync();
        return (_connectionString, schema);
    }

    private static string NewSchemaName() => "bench_" + Guid.NewGuid().ToString("N")[..8];

    public async Task<TimeSpan> RawInsertAsync(IReadOnlyList<(string PersistenceId, long SequenceNr, byte[] Payload)> rows)
    {
        if (!_rawTableCreated)
        {
            // Same columns and unique key as PostgreSqlJournal's table.
            await using var setup = _dataSource.CreateCommand($"""
                CREATE SCHEMA IF NOT EXISTS {_schema};
                CREATE TABLE IF NOT EXISTS {_schema}.raw_journal (
                    ordering bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    persistence_id text NOT NULL,
                    sequence_nr bigint NOT NULL,
                    created timestamptz NOT NULL,
                    manifest text NOT NULL,
                    payload bytea NOT NULL,
                    writer_uuid uuid NOT NULL,
                    deleted boolean NOT NULL DEFAULT false,
                    UNIQUE (persistence_id, sequence_nr)
                );
                """);
            await setup.ExecuteNonQueryAsync();
            _rawTableCreated = true;
        }

        var stopwatch = Stopwatch.StartNew();
        var ids = new string[rows.Count];
        var seqs = new long[rows.Count];
        var created = new DateTime[rows.Count];
        var manifests = new string[rows.Count];
        var payloads = new byte[rows.Count][];
        var writers = new Guid[rows.Count];
        var writer = Guid.NewGuid();
        for (var i = 0; i < rows.Count; i++)
        {
            ids[i] = rows[i].PersistenceId;
            seqs[i] = rows[i].SequenceNr;
            created[i] = DateTime.UtcNow;
            manifests[i] = "bench.written.v1";
            payloads[i] = rows[i].Payload;
            writers[i] = writer;
        }

        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_schema}.raw_journal (persistence_id, sequence_nr, created, manifest, payload, writer_uuid)
            SELECT * FROM unnest(@ids, @seqs, @created, @manifests, @payloads, @writers);
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<long[]>("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = seqs });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("created", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = created });
        command.Parameters.Add(new NpgsqlParameter<string[]>("manifests", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = manifests });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = payloads });
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("writers", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = writers });
        await command.ExecuteNonQueryAsync();
        return stopwatch.Elapsed;
    }

    /// <summary>
    /// A pool well under the server's default max_connections (100), the same for both plugins: 200
    /// entities recovering at once would otherwise open 100 connections and be refused ("too many
    /// clients"). A connection string that sets its own Maximum Pool Size keeps it.
    /// </summary>
    private static string PooledConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("pool size", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxPoolSize = 20;
        }

        return builder.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var schema in _schemas.Append(_schema))
        {
            await using var drop = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE;");
            await drop.ExecuteNonQueryAsync();
        }

        await _dataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
    }
}
