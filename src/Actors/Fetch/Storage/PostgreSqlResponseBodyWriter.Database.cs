using System.Buffers;
using System.Data;
using System.Security.Cryptography;
using BgFetchCluster.Actors.Persistence.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>Opening at an offset (re-hashing the stored prefix) and the fenced statements a writer runs.</summary>
internal sealed partial class PostgreSqlResponseBodyWriter
{
    /// <summary>
    /// A writer for a record the store has just claimed for <paramref name="generation"/> and cut to
    /// <paramref name="offset"/>: streams the stored prefix through the hash, keeping the partial last chunk in the
    /// writer's buffer so that the next store of that chunk rewrites it whole.
    /// </summary>
    public static async Task<PostgreSqlResponseBodyWriter> OpenAsync(
        PostgreSqlResponseStore store, BodyRecord record, long offset, long generation, Action release, CancellationToken cancellationToken)
    {
        // A resume reads whole chunks of the prefix into the buffer; a fresh body starts small.
        var chunk = ArrayPool<byte>.Shared.Rent(offset > 0 ? ChunkSize : InitialBufferSize);
        try
        {
            // A read of the prefix that fails midway starts again with a fresh hash: the bytes are hashed exactly once.
            var hash = await store.Resilience.ExecuteAsync(
                async token =>
                {
                    var attempt = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    try
                    {
                        if (offset > 0)
                        {
                            await HashPrefixAsync(store, record, offset, attempt, chunk, token).ConfigureAwait(false);
                        }

                        return attempt;
                    }
                    catch
                    {
                        attempt.Dispose();
                        throw;
                    }
                },
                cancellationToken).ConfigureAwait(false);
            return new PostgreSqlResponseBodyWriter(store, record, generation, release, hash, chunk, offset);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(chunk);
            throw;
        }
    }

    /// <summary>The error for a resume at <paramref name="offset"/> when only <paramref name="stored"/> bytes are there.</summary>
    public static ResponseStoreException MissingPrefix(BodyRecord record, long offset, long stored) =>
        new(
            ResponseStoreFailure.MissingPrefix,
            record.RegistrationKey,
            record.RecordIndex,
            $"Cannot resume record {record.RecordIndex} of registration '{record.RegistrationKey}' at byte {offset}: only {stored} bytes are stored.");

    private static async Task HashPrefixAsync(
        PostgreSqlResponseStore store, BodyRecord record, long offset, IncrementalHash hash, byte[] chunk, CancellationToken cancellationToken)
    {
        try
        {
            using var command = store.DataSource.CreateCommand(store.Sql.ReadPrefix);
            record.AddKey(command.Parameters);
            command.Parameters.Add(new NpgsqlParameter<long>("offset", NpgsqlDbType.Bigint) { TypedValue = offset });
            // Sequential: each chunk streams from the socket into the one buffer, never whole into a new array.
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            long hashed = 0;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.GetInt64(0) != hashed)
                {
                    // A hole: the chunk before this one was short or missing.
                    throw MissingPrefix(record, offset, hashed);
                }

                var read = await ReadChunkAsync(reader, 1, chunk, record, cancellationToken).ConfigureAwait(false);
                // The claim cut the chunk holding the offset; a newer writer may have appended since, which only
                // matters to this writer as the Superseded its first store will meet.
                var counted = (int)Math.Min(read, offset - hashed);
                hash.AppendData(chunk, 0, counted);
                hashed += counted;
            }

            if (hashed != offset)
            {
                throw MissingPrefix(record, offset, hashed);
            }
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, record.RegistrationKey, record.RecordIndex, "resume");
        }
    }

    /// <summary>Reads a chunk column of a sequential reader into <paramref name="buffer"/>, refusing one larger than a chunk.</summary>
    internal static async Task<int> ReadChunkAsync(
        NpgsqlDataReader reader, int ordinal, byte[] buffer, BodyRecord record, CancellationToken cancellationToken)
    {
        var stream = await reader.GetStreamAsync(ordinal, cancellationToken).ConfigureAwait(false);
        await using var streamScope = stream.ConfigureAwait(false);
        var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == ChunkSize && await stream.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
        {
            throw new ResponseStoreException(
                ResponseStoreFailure.IoError,
                record.RegistrationKey,
                record.RecordIndex,
                $"A stored chunk of record {record.RecordIndex} of registration '{record.RegistrationKey}' is larger than {ChunkSize} bytes.");
        }

        return read;
    }

    /// <summary>Stores the chunk being filled (partial or full), if this writer's generation still owns the record.</summary>
    private async Task StoreChunkAsync(CancellationToken cancellationToken)
    {
        int stored;
        try
        {
            // The statement writes the same bytes at the same offset under the same generation: safe to run again.
            stored = await _store.Resilience.ExecuteAsync(
                async token =>
                {
                    using var command = _store.DataSource.CreateCommand(_store.Sql.WriteChunk);
                    _record.AddKey(command.Parameters);
                    command.Parameters.Add(new NpgsqlParameter<long>("generation", NpgsqlDbType.Bigint) { TypedValue = _generation });
                    command.Parameters.Add(new NpgsqlParameter<long>("length", NpgsqlDbType.Bigint) { TypedValue = Length });
                    command.Parameters.Add(new NpgsqlParameter<long>("chunk", NpgsqlDbType.Bigint) { TypedValue = _chunkStart });
                    command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("data", NpgsqlDbType.Bytea) { TypedValue = _chunk.AsMemory(0, _buffered) });
                    return await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, _record.RegistrationKey, _record.RecordIndex, "write");
        }

        if (stored == 0)
        {
            throw Superseded();
        }

        _persisted = _buffered;
    }

    /// <summary>A flush with nothing new: the checkpoint that follows must still be refused to a superseded writer.</summary>
    private async Task CheckOwnerAsync(CancellationToken cancellationToken)
    {
        object? length;
        try
        {
            length = await _store.Resilience.ExecuteAsync(
                async token =>
                {
                    using var command = _store.DataSource.CreateCommand(_store.Sql.CheckOwner);
                    _record.AddKey(command.Parameters);
                    command.Parameters.Add(new NpgsqlParameter<long>("generation", NpgsqlDbType.Bigint) { TypedValue = _generation });
                    return await command.ExecuteScalarAsync(token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw PostgreSqlErrors.Translate(e, _record.RegistrationKey, _record.RecordIndex, "flush");
        }

        if (length is null)
        {
            throw Superseded();
        }
    }

    private ResponseStoreException Superseded() =>
        new(
            ResponseStoreFailure.Superseded,
            _record.RegistrationKey,
            _record.RecordIndex,
            $"Record {_record.RecordIndex} of registration '{_record.RegistrationKey}' was opened by a newer writer (or deleted); this writer's bytes were not stored.");
}
