using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using BgFetchCluster.Actors.Tests.Persistence;
using Npgsql;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>
/// A zombie (a node that lost its shard but still runs, here a second store over the same tables) can never corrupt a
/// body: once a newer writer has opened the record, none of the zombie's bytes land. And the chunk layout itself.
/// </summary>
public sealed partial class PostgreSqlResponseStoreTests
{
    [Fact]
    public async Task WriteAsync_ZombieAfterTheNewOwnerResumed_ThrowsSupersededAndNoneOfItsBytesLand()
    {
        const long checkpoint = (MiB * 3L / 2) + 17;
        const long length = 3L * MiB;
        var zombieNode = NewNode();
        var zombie = await zombieNode.OpenWriterAsync(Key, 0, 0);
        await WriteGeneratedAsync(zombie, 0, checkpoint, 65_536);
        await zombie.FlushToDiskAsync();
        // Past the journaled checkpoint, in other bytes: a full chunk of them is stored before the failover.
        await WriteGeneratedAsync(zombie, checkpoint, (2L * MiB) + 100_000, 65_536, seed: 66);

        await using var owner = await Store.OpenWriterAsync(Key, 0, checkpoint);
        Assert.Equal(checkpoint, await Store.GetStoredBytesAsync(Key));

        // The zombie fills its chunk, which it then tries to store.
        var error = await Assert.ThrowsAsync<ResponseStoreException>(
            async () => await zombie.WriteAsync(GeneratedStream.Bytes(0, MiB, seed: 66)));
        Assert.Equal(ResponseStoreFailure.Superseded, error.Failure);
        var faulted = await Assert.ThrowsAsync<ResponseStoreException>(() => zombie.FlushToDiskAsync());
        Assert.Equal(ResponseStoreFailure.WriterFaulted, faulted.Failure);
        await zombie.DisposeAsync();

        await WriteGeneratedAsync(owner, checkpoint, length, 65_536);
        Assert.Equal(ExpectedSha256(length), await owner.CompleteAsync());
        Assert.Equal(GeneratedStream.Bytes(0, (int)length), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task FenceWritersAsync_BeforeTheNewOwnerOpensAnything_EveryWriterOfTheRegistrationIsSuperseded_AndNoneOfItsBytesLand()
    {
        var zombieNode = NewNode();
        var first = await zombieNode.OpenWriterAsync(Key, 0, 0);
        var second = await zombieNode.OpenWriterAsync(Key, 1, 0);
        await WriteGeneratedAsync(first, 0, MiB, 65_536);
        await first.FlushToDiskAsync();
        var storedBefore = await Store.GetStoredBytesAsync(Key);

        // The new owner fences before it journals its resume marker, and opens its writers only after that.
        await Store.FenceWritersAsync(Key);

        foreach (var zombie in (IResponseBodyWriter[])[first, second])
        {
            var error = await Assert.ThrowsAsync<ResponseStoreException>(
                async () => await zombie.WriteAsync(GeneratedStream.Bytes(0, MiB, seed: 66)));
            Assert.Equal(ResponseStoreFailure.Superseded, error.Failure);
            await zombie.DisposeAsync();
        }

        Assert.Equal(storedBefore, await Store.GetStoredBytesAsync(Key));
        Assert.Equal(GeneratedStream.Bytes(0, MiB), await ReadBodyAsync(Store, Key, 0));

        // The new owner resumes from the checkpoint as usual.
        await using var owner = await Store.OpenWriterAsync(Key, 0, MiB);
        await WriteGeneratedAsync(owner, MiB, 2L * MiB, 65_536);
        Assert.Equal(ExpectedSha256(2L * MiB), await owner.CompleteAsync());
    }

    [Fact]
    public async Task FenceWritersAsync_ZombieFrozenBetweenTheStatementsOfItsClaim_PostgreSqlEndsItsTransaction_AndTheFenceGoesThrough()
    {
        // The record exists, as when a zombie restarts or resumes it: its row is what the claim locks.
        await using (var first = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(first, 0, 1_000, 1_000);
            await first.FlushToDiskAsync();
        }

        var direct = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable(PostgreSqlTestSchema<PostgreSqlResponseStoreTests>.EnvironmentVariable));
        var proxy = await FreezableTcpProxy.StartAsync(direct.Host!, direct.Port);
        using var stopZombie = new CancellationTokenSource();
        Task<IResponseBodyWriter>? zombieClaim = null;
        try
        {
            var throughProxy = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, SslMode = SslMode.Disable };
            // (Without TLS, so that the proxy sees the statements.)
            await using var zombieSource = NpgsqlDataSource.Create(throughProxy.ConnectionString);
            var zombieNode = new PostgreSqlResponseStore(zombieSource, database.Schema);
            Assert.Equal(1_000, await zombieNode.GetStoredBytesAsync(Key));

            // The claim's first statement takes the row lock; the process freezes before its second reaches the server.
            proxy.FreezeOn("DELETE FROM");
            zombieClaim = zombieNode.OpenWriterAsync(Key, 0, 0, stopZombie.Token);
            await Task.WhenAny(proxy.Frozen, zombieClaim, Task.Delay(Deadline));
            Assert.True(proxy.Frozen.IsCompleted, $"not frozen; zombie claim: {zombieClaim.Status} {zombieClaim.Exception}");

            // The new owner's fence waits on that lock until PostgreSQL ends the abandoned transaction (the guard's
            // timeout); without it the fence would wait for the frozen process, which here never comes back.
            await Store.FenceWritersAsync(Key).WaitAsync(Deadline);
            Assert.Equal(1_000, await Store.GetStoredBytesAsync(Key));
            await using (var owner = await Store.OpenWriterAsync(Key, 0, 1_000))
            {
                await WriteGeneratedAsync(owner, 1_000, 2_000, 1_000);
                Assert.Equal(ExpectedSha256(2_000), await owner.CompleteAsync());
            }

            Assert.Equal(GeneratedStream.Bytes(0, 2_000), await ReadBodyAsync(Store, Key, 0));
            Assert.False(zombieClaim.IsCompletedSuccessfully);
        }
        finally
        {
            await stopZombie.CancelAsync();
            await proxy.DisposeAsync();
        }

        // Cut off and cancelled, the zombie's claim ends without a writer.
        Assert.Same(zombieClaim, await Task.WhenAny(zombieClaim!, Task.Delay(Deadline)));
        Assert.False(zombieClaim!.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task FenceWritersAsync_RegistrationWithNoBodies_DoesNothing()
    {
        await Store.FenceWritersAsync("nothing-stored");
        Assert.Equal(0, await Store.GetStoredBytesAsync("nothing-stored"));
    }

    [Fact]
    public async Task CompleteAsync_ZombieWithNothingNewToStore_ThrowsSuperseded()
    {
        var zombie = await NewNode().OpenWriterAsync(Key, 0, 0);
        await WriteGeneratedAsync(zombie, 0, 1_000, 1_000, seed: 66);
        await zombie.FlushToDiskAsync();

        await using (var owner = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(owner, 0, 10, 10);
            await owner.CompleteAsync();
        }

        // A checkpoint journaled after this flush would claim bytes the zombie no longer owns.
        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => zombie.CompleteAsync());
        Assert.Equal(ResponseStoreFailure.Superseded, error.Failure);
        await zombie.DisposeAsync();
        Assert.Equal(GeneratedStream.Bytes(0, 10), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task DisposeAsync_ZombieWithUnstoredBytes_StoresNothing()
    {
        var zombie = await NewNode().OpenWriterAsync(Key, 0, 0);
        await WriteGeneratedAsync(zombie, 0, 100_000, 10_000, seed: 66);

        await using (var owner = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(owner, 0, 10, 10);
            await owner.CompleteAsync();
        }

        // Disposing stores a writer's buffer when it still owns the record; this one does not.
        await zombie.DisposeAsync();

        Assert.Equal(GeneratedStream.Bytes(0, 10), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task FlushToDiskAsync_ZombieRacingTheNewOwnersOpen_NeverChangesTheNewOwnersBody()
    {
        const long checkpoint = 200_000;
        const long length = (2L * MiB) + 5;
        var zombie = await NewNode().OpenWriterAsync(Key, 0, 0);
        await WriteGeneratedAsync(zombie, 0, checkpoint, 50_000);
        await zombie.FlushToDiskAsync();

        // The zombie keeps storing other bytes, checkpoint after checkpoint, while the new owner opens and writes.
        var racing = Task.Run(async () =>
        {
            for (var position = checkpoint; ; position += 65_536)
            {
                await zombie.WriteAsync(GeneratedStream.Bytes(position, 65_536, seed: 66));
                await zombie.FlushToDiskAsync();
            }
        });
        await using (var owner = await Store.OpenWriterAsync(Key, 0, checkpoint))
        {
            await WriteGeneratedAsync(owner, checkpoint, length, 65_536);
            Assert.Equal(ExpectedSha256(length), await owner.CompleteAsync());
        }

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => racing.WaitAsync(Deadline));
        Assert.Equal(ResponseStoreFailure.Superseded, error.Failure);
        await zombie.DisposeAsync();
        Assert.Equal(GeneratedStream.Bytes(0, (int)length), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task FlushToDiskAsync_WriterOfADeletedRegistrationWhoseIdWasReused_ThrowsSuperseded()
    {
        var stale = await NewNode().OpenWriterAsync(Key, 0, 0);
        await WriteGeneratedAsync(stale, 0, 1_000, 1_000, seed: 66);
        await Store.DeleteRegistrationAsync(Key);

        // Generations come from a sequence: the new record's first writer does not reuse the stale writer's.
        await using var fresh = await Store.OpenWriterAsync(Key, 0, 0);
        await WriteGeneratedAsync(fresh, 0, 10, 10);
        await fresh.FlushToDiskAsync();

        var error = await Assert.ThrowsAsync<ResponseStoreException>(() => stale.FlushToDiskAsync());
        Assert.Equal(ResponseStoreFailure.Superseded, error.Failure);
        await stale.DisposeAsync();
        Assert.Equal(GeneratedStream.Bytes(0, 10), await ReadBodyAsync(Store, Key, 0));
    }

    [Fact]
    public async Task OpenWriterAsync_ResumeInsideAChunk_LeavesAlignedChunksCutAtTheOffset()
    {
        const long checkpoint = (MiB * 3L / 2) + 3;
        await using (var first = await Store.OpenWriterAsync(Key, 0, 0))
        {
            await WriteGeneratedAsync(first, 0, (3L * MiB) + 10, 100_000);
            Assert.Equal([(0L, MiB), (MiB, MiB), (2L * MiB, MiB)], await ChunksAsync());
            await first.FlushToDiskAsync();
            Assert.Equal([(0L, MiB), (MiB, MiB), (2L * MiB, MiB), (3L * MiB, 10)], await ChunksAsync());
        }

        await using var resumed = await Store.OpenWriterAsync(Key, 0, checkpoint);

        Assert.Equal([(0L, MiB), (MiB, (int)(checkpoint - MiB))], await ChunksAsync());
        Assert.Equal(checkpoint, await Store.GetStoredBytesAsync(Key));
    }

    [Fact]
    public async Task InitializeAsync_ManyNodesOnAFreshSchema_AllSucceed()
    {
        var schema = database.Schema + "_race";
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var nodes = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                await start.Task;
                await new PostgreSqlResponseStore(database.DataSource, schema).InitializeAsync();
                await new PostgreSqlJournal(database.DataSource, schema).InitializeAsync();
            })).ToArray();
            start.SetResult();
            await Task.WhenAll(nodes).WaitAsync(Deadline);

            var store = new PostgreSqlResponseStore(database.DataSource, schema);
            await using (var writer = await store.OpenWriterAsync("after-race", 0, 0))
            {
                await WriteGeneratedAsync(writer, 0, 10, 10);
                await writer.CompleteAsync();
            }

            Assert.Equal(10, await store.GetStoredBytesAsync("after-race"));
        }
        finally
        {
            await using var drop = database.DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;");
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>The stored chunks of record 0 of <see cref="ResponseStoreContractTests.Key"/>: offset and length, in order.</summary>
    private async Task<List<(long Offset, int Length)>> ChunksAsync()
    {
        await using var command = database.DataSource.CreateCommand($"""
            SELECT chunk_offset, length(data) FROM "{database.Schema}".body_chunks
            WHERE registration_key = @key AND record_index = 0 ORDER BY chunk_offset;
            """);
        command.Parameters.AddWithValue("key", System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.Unicode.GetBytes(Key)));
        var chunks = new List<(long, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            chunks.Add((reader.GetInt64(0), reader.GetInt32(1)));
        }

        return chunks;
    }
}
