using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Chaos.Tests.Checking;
using BgFetchCluster.Chaos.Tests.Infrastructure;
using Npgsql;

namespace BgFetchCluster.Chaos.Tests;

/// <summary>
/// The checker's zombie rules proved against the database itself: a stale writer's real writes, refused by the body
/// store's writer generation, leave no audit row and no finding; the same writes forged past the fences (a chunk
/// after the new owner's claim, an event of a retired journal writer) are caught, each by its rule.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class AuditSelfTests(ChaosFixture fixture) : IAsyncLifetime
{
    private const string Entity = "default/forged/1";
    private readonly string _database = "bgfetch_audit_" + Guid.NewGuid().ToString("N")[..12];

    private string ConnectionString(string applicationName) => new NpgsqlConnectionStringBuilder(fixture.Postgres.SessionConnectionString)
    {
        Database = _database,
        Username = PrivatePostgres.NodeRole,
        ApplicationName = applicationName,
    }.ConnectionString;

    public async Task InitializeAsync()
    {
        await ExecuteAsync(fixture.Postgres.SessionConnectionString, $"CREATE DATABASE \"{_database}\" OWNER {PrivatePostgres.NodeRole}");
        await AuditTrail.InstallAsync(ConnectionString("installer"));
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(fixture.Postgres.SessionConnectionString, $"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
    }

    [Fact]
    public async Task Checker_ForgedStaleWritesAfterATakeover_AreFound_AndTheFencedRealOnesLeaveNoTrace()
    {
        var since = DateTime.UtcNow.AddMinutes(-1);
        await using var oldOwner = NpgsqlDataSource.Create(ConnectionString("bgfetch-n0-r1"));
        await using var newOwner = NpgsqlDataSource.Create(ConnectionString("bgfetch-n1-r1"));
        var victims = new[] { new Victim("bgfetch-n0-r1", since) };
        await JournalAsync(oldOwner, 1, "writer-old");
        var stale = await new PostgreSqlResponseStore(oldOwner).OpenWriterAsync(Entity, 0, 0);
        await stale.WriteAsync(new byte[PostgreSqlResponseStore.ChunkSize + 1000]);
        await stale.FlushToDiskAsync();

        // The new owner takes the record over at what is stored, and journals its first event.
        await using var fresh = await new PostgreSqlResponseStore(newOwner).OpenWriterAsync(Entity, 0, stale.Length);
        await JournalAsync(newOwner, 2, "writer-new");

        // The stale writer's next bytes are refused by the writer generation: nothing lands, nothing is found.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await stale.WriteAsync(new byte[PostgreSqlResponseStore.ChunkSize]);
            await stale.FlushToDiskAsync();
        });
        var clean = ZombieWrites.Check(await AuditTrail.ReadAsync(ConnectionString("checker")), victims);
        Assert.True(clean.Count == 0, "the fenced writes should leave no finding:\n" + string.Join("\n", clean));

        // The same writes forged past the fences, as a store without them would let them land.
        await using (var connection = await oldOwner.OpenConnectionAsync())
        {
            await using var chunk = new NpgsqlCommand(
                "INSERT INTO body_chunks (registration_key, record_index, chunk_offset, data) VALUES (@key, 0, @offset, '\\x00'::bytea)", connection);
            chunk.Parameters.AddWithValue("key", Convert.FromHexString(ZombieWrites.BodyKeyOf(Entity)));
            chunk.Parameters.AddWithValue("offset", 10L * PostgreSqlResponseStore.ChunkSize);
            await chunk.ExecuteNonQueryAsync();
        }

        await JournalAsync(oldOwner, 3, "writer-old");
        var findings = ZombieWrites.Check(await AuditTrail.ReadAsync(ConnectionString("checker")), victims);

        Assert.Contains(findings, static f => f.StartsWith("zombie body write", StringComparison.Ordinal) && f.Contains("bgfetch-n0-r1", StringComparison.Ordinal));
        Assert.Contains(findings, static f => f.StartsWith("zombie journal write", StringComparison.Ordinal) && f.Contains("writer-old", StringComparison.Ordinal));
        Assert.Contains(findings, static f => f.StartsWith("write of cut-off bgfetch-n0-r1 after bgfetch-n1-r1 took", StringComparison.Ordinal));
        Assert.Equal(1, ZombieWrites.MovedRegistrations(await AuditTrail.ReadAsync(ConnectionString("checker"))));
        try
        {
            await stale.DisposeAsync();
        }
        catch (ResponseStoreException)
        {
            // A fenced writer may report its refusal again when it is closed.
        }
    }

    private static async Task JournalAsync(NpgsqlDataSource dataSource, long sequenceNr, string writer)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, writer_uuid)
            VALUES (@pid, @seq, now(), 'bgfetch.record.checkpointed.v1', '\x00'::bytea, @writer)
            """);
        command.Parameters.AddWithValue("pid", "registration-" + Entity);
        command.Parameters.AddWithValue("seq", sequenceNr);
        command.Parameters.AddWithValue("writer", writer);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
