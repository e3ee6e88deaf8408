using Npgsql;

namespace BgFetchCluster.Actors.Persistence.PostgreSql;

/// <summary>
/// The connection budget of a node (<c>BgFetch:Storage:MaxConnections</c>): every PostgreSQL user of one process
/// (journal, snapshot store, body store) shares one <see cref="NpgsqlDataSource"/> per connection string, whose pool
/// is capped by the string's <c>Maximum Pool Size</c>. Npgsql otherwise gives every data source its own pool of 100,
/// so three users on three nodes could hold 900 connections of a server that allows 100 (issue 19).
/// </summary>
/// <remarks>
/// A caller that finds the pool exhausted waits, at most the string's <c>Timeout</c>, for a connection to come back:
/// that wait is the node's back-pressure. A wait that runs out surfaces as a transient error (StoreErrors), which the
/// stores' resilience pipelines retry within the outage tolerance.
/// </remarks>
public static class PostgreSqlConnections
{
    /// <summary>The <c>Application Name</c> the node's connections carry unless the connection string names one.</summary>
    public const string DefaultApplicationName = "bgfetch";

    /// <summary>The longest wait, in seconds, for a connection from an exhausted pool (or for a new one to open).</summary>
    public const int DefaultTimeoutSeconds = 15;

    /// <summary>
    /// The first statement of every explicit transaction of the stores: a node that is paused (SIGSTOP, a long stall) or
    /// cut off from the database between two statements of a transaction would otherwise keep its row locks until it
    /// resumes or its TCP connection dies (hours). The new owner of its registrations then waits on them: the body
    /// store's fence, its claims and its deletes all lock the same rows, and the takeover stalls until the fault ends
    /// (seen in the nemesis suite: first moved downloads resumed only after SIGCONT, or after the partition healed).
    /// </summary>
    /// <remarks>
    /// PostgreSQL ends a session whose transaction waited 5 s for its client's next statement, rolling it back. 5 s is shorter than the time the cluster takes to down a silent node
    /// and move its shards (about 4 s to suspect it, 5 s of SBR stable-after, 2 s of down-removal-margin), so the
    /// transaction is gone before the new owner needs its rows. None of the stores' transactions waits on anything but
    /// the database between its statements. <c>SET LOCAL</c> lasts for the transaction only, so it also holds through
    /// PgBouncer in transaction mode (docs/operations.md); Akka.Persistence.Sql's transactions, which the node cannot
    /// prefix, get the same bound from the role (<c>ALTER ROLE ... SET idle_in_transaction_session_timeout</c>).
    /// </remarks>
    public const string AbandonedTransactionGuard = "SET LOCAL idle_in_transaction_session_timeout = '5s';";

    private static readonly Dictionary<string, Shared> Pools = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>
    /// <paramref name="connectionString"/> with its pool capped at <paramref name="maxConnections"/>, a bounded wait for
    /// a connection (the string's own <c>Timeout</c>, else <see cref="DefaultTimeoutSeconds"/>) and an application name
    /// (the string's own, else <see cref="DefaultApplicationName"/>) so that <c>pg_stat_activity</c> shows whose they are.
    /// </summary>
    public static string Budgeted(string connectionString, int maxConnections)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            MaxPoolSize = maxConnections,
            Pooling = true,
        };
        if (builder.MinPoolSize > maxConnections)
        {
            builder.MinPoolSize = maxConnections;
        }

        if (!builder.ContainsKey("Timeout"))
        {
            builder.Timeout = DefaultTimeoutSeconds;
        }

        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = DefaultApplicationName;
        }

        return builder.ConnectionString;
    }

    /// <summary>The most connections a connection string's pool opens (its <c>Maximum Pool Size</c>).</summary>
    public static int MaxConnectionsOf(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString).MaxPoolSize;

    /// <summary>
    /// A lease on the process's one data source for <paramref name="connectionString"/>, created by the first lease and
    /// disposed with the last one. Every store of a node leases the same string, so they share one pool.
    /// </summary>
    public static Lease Acquire(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        lock (Gate)
        {
            if (!Pools.TryGetValue(connectionString, out var shared))
            {
                shared = new Shared(NpgsqlDataSource.Create(connectionString));
                Pools[connectionString] = shared;
            }

            shared.Leases++;
            return new Lease(connectionString, shared.DataSource);
        }
    }

    /// <summary>Drops one lease; returns the data source to close when it was the last.</summary>
    private static NpgsqlDataSource? Release(string connectionString)
    {
        lock (Gate)
        {
            if (Pools.TryGetValue(connectionString, out var shared) && --shared.Leases == 0)
            {
                Pools.Remove(connectionString);
                return shared.DataSource;
            }

            return null;
        }
    }

    /// <summary>One use of a shared data source; disposing it gives the use back (and closes the pool after the last).</summary>
    public sealed class Lease : IAsyncDisposable, IDisposable
    {
        private readonly string _connectionString;
        private int _released;

        internal Lease(string connectionString, NpgsqlDataSource dataSource)
        {
            _connectionString = connectionString;
            DataSource = dataSource;
        }

        /// <summary>The shared data source; valid until the lease is disposed.</summary>
        public NpgsqlDataSource DataSource { get; }

        /// <inheritdoc />
        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _released, 1) == 0 && Release(_connectionString) is { } closing
                ? closing.DisposeAsync()
                : ValueTask.CompletedTask;

        /// <inheritdoc />
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Release(_connectionString)?.Dispose();
            }
        }
    }

    private sealed class Shared(NpgsqlDataSource dataSource)
    {
        public NpgsqlDataSource DataSource { get; } = dataSource;

        public int Leases { get; set; }
    }
}
