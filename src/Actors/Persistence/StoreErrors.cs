using System.Net.Sockets;
using BgFetchCluster.Actors.Fetch.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// The one place that says which store errors are transient (docs/contributing.md rule 7): the database is away, restarting or
/// out of connections for now, so the operation is worth retrying and nothing about the data is wrong. Everything else
/// (a constraint the code violated, a schema mismatch, a full disk) fails fast.
/// </summary>
public static class StoreErrors
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    // errno values that IOException.HResult carries on Unix (Linux, then macOS where they differ).
    private const int Eintr = 4;
    private const int Ebusy = 16;
    private const int EagainLinux = 11;
    private const int EtimedoutLinux = 110;
    private const int EstaleLinux = 116;
    private const int EagainMacOs = 35;
    private const int EtimedoutMacOs = 60;
    private const int EstaleMacOs = 70;

    /// <summary>
    /// True when <paramref name="exception"/> itself says the store is unavailable for now: connection refused or broken,
    /// the pool exhausted (a wait for a connection that ran out), too many connections (53300), the server shutting
    /// down or starting (57P01, 57P02, 57P03), any connection exception (class 08), a serialization failure or deadlock
    /// (40001, 40P01), a busy or locked SQLite file; a file operation that a network volume (NFS, EFS) failed for now
    /// (<see cref="IsTransientFileError"/>); or a body store error that wraps one of those.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => IsTransientSqlState(postgres.SqlState),

        // Connection refused, reset, or closed mid-command (IOException, SocketException), a connect or pool wait that
        // timed out (TimeoutException): Npgsql's own classification of errors that never reached the server.
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteBusy or SqliteLocked,
        ResponseStoreException { Failure: ResponseStoreFailure.Unavailable } => true,
        IOException io => IsTransientFileError(io),
        _ => false,
    };

    /// <summary>
    /// True when a file operation failed with an errno (in <see cref="Exception.HResult"/> on Unix) that a network volume
    /// answers while it is busy or reconnecting: EAGAIN (also a file locked by another handle), EINTR, EBUSY, ETIMEDOUT
    /// (an NFS server not answering), ESTALE (a handle the server forgot across a failover; the retry opens the file
    /// again). A full disk or quota (ENOSPC, EDQUOT) and every other error are not: they fail fast. On Windows no file
    /// error is transient.
    /// </summary>
    public static bool IsTransientFileError(IOException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (OperatingSystem.IsLinux())
        {
            return exception.HResult is Eintr or Ebusy or EagainLinux or EtimedoutLinux or EstaleLinux;
        }

        if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            return exception.HResult is Eintr or Ebusy or EagainMacOs or EtimedoutMacOs or EstaleMacOs;
        }

        return false;
    }

    /// <summary>
    /// True when the store is unavailable according to <paramref name="exception"/> or anything it wraps (the HTTP
    /// layer's 503, the record's pause): a transient error that outlasted the retries, however it was wrapped.
    /// </summary>
    public static bool IsUnavailable(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++, exception = exception.InnerException)
        {
            if (IsTransient(exception))
            {
                return true;
            }

            if (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate && aggregate.InnerExceptions.Any(IsUnavailable))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsTransientSqlState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState is PostgresErrorCodes.TooManyConnections
            or PostgresErrorCodes.AdminShutdown
            or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.SerializationFailure
            or PostgresErrorCodes.DeadlockDetected

            // The server ended a session whose transaction waited 5 s for this node's next statement
            // (PostgreSqlConnections.AbandonedTransactionGuard): a node that stalled that long tries the step again.
            or IdleInTransactionSessionTimeout;

    // 25P03, idle_in_transaction_session_timeout (Npgsql names no constant for it).
    private const string IdleInTransactionSessionTimeout = "25P03";
}
