using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>Opens SQLite connections with the per-connection settings every store relies on.</summary>
/// <remarks>
/// Microsoft.Data.Sqlite does its I/O synchronously (its async methods complete inline), so the SQLite
/// stores dispose connections, commands and readers with plain <c>using</c>.
/// </remarks>
internal static class SqliteConnections
{
    /// <summary>How long a connection waits for another process's write lock before failing.</summary>
    public const int BusyTimeoutMilliseconds = 10_000;

    /// <summary>Opens a connection with synchronous=FULL and a busy timeout applied.</summary>
    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragmas = connection.CreateCommand();
            // Both pragmas are per connection, so they run on every open (pooled or not). FULL syncs
            // the WAL on every commit: durability comes from batching commits, never from skipping fsync.
            pragmas.CommandText = $"PRAGMA synchronous = FULL; PRAGMA busy_timeout = {BusyTimeoutMilliseconds};";
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
