using System.Collections.Concurrent;
using System.Globalization;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// The embedded node's <see cref="IResponseStore"/>: one file per record under
/// <c>{directory}/{hh}/{sha256(registrationKey)}.{recordIndex}.body</c>, streamed through a 64 KiB buffer (past
/// 8 MiB, through aligned 1 MiB chunks written with O_DIRECT where the file system allows it; see
/// <see cref="DiskResponseBodyWriter"/>).
/// </summary>
/// <remarks>
/// Registration keys come from clients, so they never reach the file system as names: only the hex
/// SHA-256 of the key does, which keeps "..", "/", and unicode out of paths. The two-character fan-out keeps
/// directories small. A registration has no directory of its own: creating one per registration was an inode
/// allocation per creation, about a tenth of the node's CPU when many one-request registrations arrive
/// (bench/README.md, W4). Prefix directories are never removed: deleting one would race with a writer of
/// another registration creating its directory under it, and there are at most 256 of them.
/// <para>
/// A network volume (NFS, EFS) answers some operations with EAGAIN, EINTR, EBUSY, ETIMEDOUT or ESTALE for a while
/// (<see cref="StoreErrors.IsTransientFileError"/>): opening, reading, deleting and measuring, and a writer's writes and
/// buffer flushes, run through the store's <see cref="StoreResilience"/> like the PostgreSQL body store's round trips.
/// A full disk is never retried.
/// </para>
/// </remarks>
public sealed class DiskResponseStore : IResponseStore
{
    /// <summary>The file buffer: large enough to make writes efficient, small enough to keep memory flat per open body.</summary>
    internal const int BufferSize = 64 * 1024;

    private const string BodyExtension = ".body";

    private readonly string _directory;

    // The records that have a writer open in this process. Two writers of one record would interleave bytes and
    // hashes; on Linux FileShare cannot stop that (advisory locks are shared), so this set does.
    private readonly ConcurrentDictionary<string, byte> _openWriters = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates a store rooted at <paramref name="directory"/>, creating the directory if needed; transient file errors
    /// are retried through <paramref name="resilience"/> (none: they surface at once).
    /// </summary>
    public DiskResponseStore(string directory, StoreResilience? resilience = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = Path.GetFullPath(directory);
        Resilience = resilience ?? StoreResilience.None;
        Directory.CreateDirectory(_directory);
    }

    /// <summary>The store's retries of transient file errors.</summary>
    internal StoreResilience Resilience { get; }

    /// <inheritdoc />
    public async Task<IResponseBodyWriter> OpenWriterAsync(
        string registrationKey, int recordIndex, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        ArgumentOutOfRangeException.ThrowIfNegative(recordIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        cancellationToken.ThrowIfCancellationRequested();

        var path = RecordPath(registrationKey, recordIndex);
        if (!_openWriters.TryAdd(path, 0))
        {
            throw new ResponseStoreException(
                ResponseStoreFailure.WriterAlreadyOpen,
                registrationKey,
                recordIndex,
                $"Record {recordIndex} of registration '{registrationKey}' already has an open writer.");
        }

        try
        {
            // Opening is safe to repeat: each attempt truncates to the offset and hashes the prefix again.
            return await Resilience.ExecuteAsync<IResponseBodyWriter>(
                async token => await DiskResponseBodyWriter
                    .OpenAsync(path, registrationKey, recordIndex, offset, () => _openWriters.TryRemove(path, out _), Resilience, token)
                    .ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _openWriters.TryRemove(path, out _);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<StoredBody?> OpenReadAsync(string registrationKey, int recordIndex, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        ArgumentOutOfRangeException.ThrowIfNegative(recordIndex);
        cancellationToken.ThrowIfCancellationRequested();
        return await Resilience.ExecuteAsync(
            _ => ValueTask.FromResult(OpenReadOnce(registrationKey, recordIndex)), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteRegistrationAsync(string registrationKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        cancellationToken.ThrowIfCancellationRequested();

        // Idempotent: a retry deletes what the failed attempt left.
        await Resilience.ExecuteAsync(
            _ =>
            {
                DeleteOnce(registrationKey);
                return ValueTask.CompletedTask;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> GetStoredBytesAsync(string registrationKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        cancellationToken.ThrowIfCancellationRequested();
        return await Resilience.ExecuteAsync(_ => ValueTask.FromResult(StoredBytesOnce(registrationKey)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One attempt at opening a record's body for reading (null: none is stored).</summary>
    private StoredBody? OpenReadOnce(string registrationKey, int recordIndex)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            // ReadWrite: another record of the registration may be written meanwhile; Delete: the registration may
            // be deleted while a response is still being served (Linux keeps the open inode readable).
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = BufferSize,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        };
        try
        {
            var stream = new FileStream(RecordPath(registrationKey, recordIndex), options);
            return new StoredBody(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, registrationKey, recordIndex, "read");
        }
    }

    /// <summary>One attempt at deleting every body of a registration.</summary>
    private void DeleteOnce(string registrationKey)
    {
        var name = HashKey(registrationKey);
        try
        {
            foreach (var file in Directory.EnumerateFiles(PrefixDirectory(name), BodiesPattern(name)))
            {
                File.Delete(file);
            }
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone: deleting is idempotent.
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, registrationKey, -1, "delete");
        }
    }

    /// <summary>One attempt at adding up the stored bytes of a registration.</summary>
    private long StoredBytesOnce(string registrationKey)
    {
        var name = HashKey(registrationKey);
        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(PrefixDirectory(name)).EnumerateFiles(BodiesPattern(name)))
            {
                total += LengthOrZero(file);
            }
        }
        catch (DirectoryNotFoundException)
        {
            // No bodies stored, or the registration was deleted while counting.
        }
        catch (Exception e) when (DiskErrors.IsStorageError(e))
        {
            throw DiskErrors.Translate(e, registrationKey, -1, "measure");
        }

        return total;
    }

    /// <summary>Returns the file that holds a record's body.</summary>
    internal string RecordPath(string registrationKey, int recordIndex)
    {
        var name = HashKey(registrationKey);
        return Path.Combine(PrefixDirectory(name), name + "." + recordIndex.ToString(CultureInfo.InvariantCulture) + BodyExtension);
    }

    /// <summary>The fan-out directory of a hashed key: its first two hex digits.</summary>
    private string PrefixDirectory(string name) => Path.Combine(_directory, name[..2]);

    /// <summary>Matches every body of one registration in its prefix directory (the name is hex, so nothing else matches).</summary>
    private static string BodiesPattern(string name) => name + ".*" + BodyExtension;

    /// <summary>Returns the lowercase hex SHA-256 of the key (see <see cref="RegistrationKeyHash"/>).</summary>
    private static string HashKey(string registrationKey) => RegistrationKeyHash.Hex(registrationKey);

    private static long LengthOrZero(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (FileNotFoundException)
        {
            // Deleted between listing and measuring.
            return 0;
        }
    }
}
