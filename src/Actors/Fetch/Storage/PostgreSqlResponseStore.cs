using System.Collections.Concurrent;
using System.Globalization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using Npgsql;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// The cluster's <see cref="IResponseStore"/>: bodies in the journal's PostgreSQL database, so every node can read
/// every body. A record's body is a row in <c>body_records</c> (its committed length and writer generation) and rows
/// of <c>body_chunks</c> of <see cref="ChunkSize"/> bytes at aligned offsets (the last one shorter), streamed both
/// ways: a writer holds at most one chunk, a reader fetches one chunk at a time.
/// </summary>
/// <remarks>
/// <para>
/// Zombie writers are fenced, not trusted (docs/architecture.md, "Body stores"): every <see cref="OpenWriterAsync"/> takes a new
/// generation from a sequence for the record, and every chunk a writer stores is written by one statement that first
/// updates the record's row only if it still holds that writer's generation. The row lock orders that statement after
/// any newer opener's truncation, so once a newer writer has opened the record, an older one (a node that lost its
/// shard but still runs) gets <see cref="ResponseStoreFailure.Superseded"/> and none of its bytes land. Generations
/// come from a sequence, never from the row, so a record deleted and written again never hands out an old one.
/// </para>
/// <para>
/// Registration keys are stored as their SHA-256 (<see cref="RegistrationKeyHash"/>): fixed-size index keys, and
/// any string works, including NUL and unpaired surrogates, which PostgreSQL text cannot hold.
/// </para>
/// <para>The caller owns the <see cref="NpgsqlDataSource"/>. The schema is migrated on first use (or by <see cref="InitializeAsync"/>).</para>
/// </remarks>
public sealed partial class PostgreSqlResponseStore : IResponseStore
{
    /// <summary>The bytes per chunk row: what a writer buffers at most and what a reader fetches per round trip.</summary>
    public const int ChunkSize = 1024 * 1024;

    private readonly NpgsqlDataSource _dataSource;

    // The records that have a writer open through this store. Across stores (nodes) the generation fences instead: a
    // failover's new owner must be able to take a record over from a zombie that never closes its writer.
    private readonly ConcurrentDictionary<string, byte> _openWriters = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates a store whose tables live in <paramref name="schema"/> of the data source's database; every round trip
    /// goes through <paramref name="resilience"/> (none: errors surface at once).
    /// </summary>
    public PostgreSqlResponseStore(NpgsqlDataSource dataSource, string schema = "public", StoreResilience? resilience = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        Resilience = resilience ?? StoreResilience.None;
        Schema = schema;
        Sql = new Statements(PostgreSqlSchema.Quote(schema));
    }

    /// <summary>The PostgreSQL schema of the store's tables.</summary>
    public string Schema { get; }

    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The store's retries of transient errors (issue 19): each statement or transaction runs through it.</summary>
    internal StoreResilience Resilience { get; }

    internal Statements Sql { get; }

    /// <inheritdoc />
    public async Task<IResponseBodyWriter> OpenWriterAsync(
        string registrationKey, int recordIndex, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        ArgumentOutOfRangeException.ThrowIfNegative(recordIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        cancellationToken.ThrowIfCancellationRequested();

        var record = new BodyRecord(registrationKey, recordIndex);
        var slot = RegistrationKeyHash.Hex(registrationKey) + "." + recordIndex.ToString(CultureInfo.InvariantCulture);
        if (!_openWriters.TryAdd(slot, 0))
        {
            throw new ResponseStoreException(
                ResponseStoreFailure.WriterAlreadyOpen,
                registrationKey,
                recordIndex,
                $"Record {recordIndex} of registration '{registrationKey}' already has an open writer.");
        }

        try
        {
            await EnsureInitializedAsync(record, cancellationToken).ConfigureAwait(false);
            var generation = await ClaimAsync(record, offset, cancellationToken).ConfigureAwait(false);
            return await PostgreSqlResponseBodyWriter
                .OpenAsync(this, record, offset, generation, () => _openWriters.TryRemove(slot, out _), cancellationToken)
                .ConfigureAwait(false);
        }
        catch
        {
            _openWriters.TryRemove(slot, out _);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<StoredBody?> OpenReadAsync(string registrationKey, int recordIndex, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        ArgumentOutOfRangeException.ThrowIfNegative(recordIndex);
        var record = new BodyRecord(registrationKey, recordIndex);
        await EnsureInitializedAsync(record, cancellationToken).ConfigureAwait(false);
        try
        {
            var length = await Resilience.ExecuteAsync(
                async token =>
                {
                    using var command = _dataSource.CreateCommand(Sql.ReadLength);
                    record.AddKey(command.Parameters);
                    return await command.ExecuteScalarAsync(token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
            return length is long stored ? new StoredBody(new PostgreSqlBodyStream(this, record, stored)) : null;
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, registrationKey, recordIndex, "read");
        }
    }

    /// <inheritdoc />
    /// <remarks>A writer still open on a deleted record is fenced like a zombie: its record row, and so its generation, is gone.</remarks>
    public async Task DeleteRegistrationAsync(string registrationKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        var record = new BodyRecord(registrationKey, -1);
        await EnsureInitializedAsync(record, cancellationToken).ConfigureAwait(false);
        try
        {
            await Resilience.ExecuteAsync(token => new ValueTask(DeleteOnceAsync(record, token)), cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, registrationKey, -1, "delete");
        }
    }

    /// <inheritdoc />
    /// <remarks>Counts committed bytes: what a writer holds in its one-chunk buffer is not stored yet.</remarks>
    public async Task<long> GetStoredBytesAsync(string registrationKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        var record = new BodyRecord(registrationKey, -1);
        await EnsureInitializedAsync(record, cancellationToken).ConfigureAwait(false);
        try
        {
            return await Resilience.ExecuteAsync(
                async token =>
                {
                    using var command = _dataSource.CreateCommand(Sql.StoredBytes);
                    record.AddRegistration(command.Parameters);
                    return (long)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))!;
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, registrationKey, -1, "measure");
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Gives every record row of the registration a new generation in one statement. Its row locks order it after any chunk
    /// write in flight (which committed first, and is cut by the new owner's claim at its checkpoint), and every chunk write
    /// after it finds its generation gone.
    /// </remarks>
    public async Task FenceWritersAsync(string registrationKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        var record = new BodyRecord(registrationKey, -1);
        await EnsureInitializedAsync(record, cancellationToken).ConfigureAwait(false);
        try
        {
            await Resilience.ExecuteAsync(
                async token =>
                {
                    using var command = _dataSource.CreateCommand(Sql.FenceWriters);
                    record.AddRegistration(command.Parameters);
                    await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, registrationKey, -1, "fence the writers of");
        }
    }

    /// <summary>One attempt at deleting a registration's bodies, in one transaction (safe to run again).</summary>
    private async Task DeleteOnceAsync(BodyRecord record, CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);

        // Records first: deleting their rows waits for chunk writes in flight (they lock the row), and the chunk
        // delete that follows runs with a fresh snapshot, so it sees whatever those writes committed.
        foreach (var sql in (string[])[PostgreSqlConnections.AbandonedTransactionGuard + Sql.DeleteRecords, Sql.DeleteChunks])
        {
            using var command = new NpgsqlCommand(sql, connection, transaction);
            record.AddRegistration(command.Parameters);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
