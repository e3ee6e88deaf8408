using System.Diagnostics.Metrics;
using System.Net.Sockets;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// The one classification of transient store errors (<see cref="StoreErrors"/>) and the retries built on it
/// (<see cref="StoreResilience"/>): transient errors are retried within the outage tolerance, others never.
/// </summary>
public sealed class StoreResilienceTests
{
    public static TheoryData<string, bool> SqlStates => new()
    {
        { PostgresErrorCodes.TooManyConnections, true },
        { PostgresErrorCodes.AdminShutdown, true },
        { PostgresErrorCodes.CrashShutdown, true },
        { PostgresErrorCodes.CannotConnectNow, true },
        { PostgresErrorCodes.ConnectionFailure, true },
        { PostgresErrorCodes.SerializationFailure, true },
        { PostgresErrorCodes.DeadlockDetected, true },
        { "25P03", true }, // idle_in_transaction_session_timeout
        { PostgresErrorCodes.UniqueViolation, false },
        { PostgresErrorCodes.UndefinedTable, false },
        { PostgresErrorCodes.UndefinedColumn, false },
        { PostgresErrorCodes.DiskFull, false },
    };

    [Theory]
    [MemberData(nameof(SqlStates))]
    public void IsTransient_PostgresError_OnlyOutagesAndContention(string sqlState, bool transient) =>
        Assert.Equal(transient, StoreErrors.IsTransient(Postgres(sqlState)));

    [Fact]
    public void IsTransient_ConnectionRefusedBrokenOrPoolExhausted_IsTransient()
    {
        Assert.True(StoreErrors.IsTransient(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(StoreErrors.IsTransient(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())));
        Assert.True(StoreErrors.IsTransient(new NpgsqlException("The connection pool has been exhausted", new TimeoutException())));
    }

    [Fact]
    public void IsTransient_SqliteBusyOrLocked_IsTransient_OtherSqliteErrorsAreNot()
    {
        Assert.True(StoreErrors.IsTransient(new SqliteException("database is locked", 5)));
        Assert.True(StoreErrors.IsTransient(new SqliteException("database table is locked", 6)));
        Assert.False(StoreErrors.IsTransient(new SqliteException("constraint failed", 19)));
    }

    [Fact]
    public void IsUnavailable_AWrappedTransientError_IsFoundInTheChain()
    {
        var wrapped = new ResponseStoreException(ResponseStoreFailure.IoError, "r", 0, "could not write", new InvalidOperationException("outer", Postgres(PostgresErrorCodes.AdminShutdown)));
        Assert.True(StoreErrors.IsUnavailable(wrapped));
        Assert.True(StoreErrors.IsUnavailable(new ResponseStoreException(ResponseStoreFailure.Unavailable, "r", 0, "away")));
        Assert.False(StoreErrors.IsUnavailable(new ResponseStoreException(ResponseStoreFailure.DiskFull, "r", 0, "full")));
    }

    [Fact]
    public async Task ExecuteAsync_TransientErrorsThenSuccess_RetriesUntilItSucceeds()
    {
        var resilience = new StoreResilience("test", TimeSpan.FromMinutes(1));
        var attempts = 0;
        var result = await resilience.ExecuteAsync(
            _ => ++attempts < 3 ? throw Postgres(PostgresErrorCodes.TooManyConnections) : ValueTask.FromResult(42));

        Assert.Equal(42, result);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_AnErrorThatIsNotTransient_FailsAtTheFirstAttempt()
    {
        var resilience = new StoreResilience("test", TimeSpan.FromMinutes(1));
        var attempts = 0;
        var error = await Assert.ThrowsAsync<PostgresException>(async () => await resilience.ExecuteAsync<int>(
            _ =>
            {
                attempts++;
                throw Postgres(PostgresErrorCodes.UniqueViolation);
            }));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_NoToleranceLeft_LetsTheTransientErrorThrough()
    {
        var resilience = new StoreResilience("test", TimeSpan.Zero);
        var attempts = 0;
        await Assert.ThrowsAsync<PostgresException>(async () => await resilience.ExecuteAsync<int>(
            _ =>
            {
                attempts++;
                throw Postgres(PostgresErrorCodes.AdminShutdown);
            }));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_CancelledWhileRetrying_StopsRetrying()
    {
        var resilience = new StoreResilience("test", TimeSpan.FromMinutes(1));
        using var cancellation = new CancellationTokenSource();
        var attempts = 0;
        await Assert.ThrowsAnyAsync<Exception>(async () => await resilience.ExecuteAsync<int>(
            _ =>
            {
                if (++attempts == 2)
                {
                    cancellation.Cancel();
                }

                throw Postgres(PostgresErrorCodes.CannotConnectNow);
            },
            cancellation.Token));

        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_TransientErrorsThenSuccess_CountsEachRetryAndTheOutageOnlyWhileItRetries()
    {
        var store = "metrics-" + Guid.NewGuid().ToString("N");
        using var metrics = new StoreMetrics(store);
        var resilience = new StoreResilience(store, TimeSpan.FromMinutes(1));
        var attempts = 0;
        long inOutageAtTheLastAttempt = -1;
        await resilience.ExecuteAsync(
            _ =>
            {
                if (++attempts < 3)
                {
                    throw Postgres(PostgresErrorCodes.CannotConnectNow);
                }

                inOutageAtTheLastAttempt = metrics.Unavailable;
                return ValueTask.FromResult(true);
            });

        Assert.Equal(2, metrics.Retries);
        Assert.Equal(1, inOutageAtTheLastAttempt);
        Assert.Equal(0, metrics.Unavailable);
    }

    [Fact]
    public async Task ExecuteAsync_AnErrorThatIsNotTransient_CountsNoRetryAndNoOutage()
    {
        var store = "metrics-" + Guid.NewGuid().ToString("N");
        using var metrics = new StoreMetrics(store);
        var health = new StoreHealth();
        var resilience = new StoreResilience(store, TimeSpan.FromMinutes(1), health: health);
        await Assert.ThrowsAsync<PostgresException>(async () => await resilience.ExecuteAsync<int>(_ => throw Postgres(PostgresErrorCodes.UniqueViolation)));

        Assert.Equal(0, metrics.Retries);
        Assert.Equal(0, metrics.Unavailable);
        Assert.False(health.IsUnavailable);
    }

    [Fact]
    public async Task ExecuteAsync_TransientErrorThenSuccess_TheSharedHealthIsUnavailableUntilTheSuccess()
    {
        var health = new StoreHealth();
        var resilience = new StoreResilience("journal", TimeSpan.FromMinutes(1), health: health);
        var attempts = 0;
        var unavailableWhileRetrying = false;
        await resilience.ExecuteAsync(
            _ =>
            {
                if (++attempts == 1)
                {
                    throw Postgres(PostgresErrorCodes.AdminShutdown);
                }

                unavailableWhileRetrying = health.IsUnavailable;
                return ValueTask.FromResult(true);
            });

        Assert.True(unavailableWhileRetrying, "the health did not know of the outage while the operation retried");
        Assert.False(health.IsUnavailable, "the health still reports an outage after the operation succeeded");
    }

    [Fact]
    public async Task ExecuteAsync_TransientErrorPastTheTolerance_TheHealthStaysUnavailableUntilAnotherStoreSucceeds()
    {
        var health = new StoreHealth();
        var journal = new StoreResilience("journal", TimeSpan.Zero, health: health);
        var bodies = new StoreResilience("bodies", TimeSpan.FromMinutes(1), health: health);
        await Assert.ThrowsAsync<PostgresException>(async () => await journal.ExecuteAsync<int>(_ => throw Postgres(PostgresErrorCodes.CannotConnectNow)));

        Assert.True(health.IsUnavailable);
        Assert.Contains("journal", health.Reason, StringComparison.Ordinal);
        await bodies.ExecuteAsync(_ => ValueTask.FromResult(1));
        Assert.False(health.IsUnavailable);
        Assert.Null(health.Reason);
    }

    private static PostgresException Postgres(string sqlState) => new("test error", "ERROR", "ERROR", sqlState);

    /// <summary>The store metrics of one store name (<c>bgfetch.store.retries</c>, <c>bgfetch.stores.unavailable</c>), as this test sees them.</summary>
    private sealed class StoreMetrics : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _retries;
        private long _unavailable;

        public StoreMetrics(string store)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == FetchMetrics.Name && instrument.Name is "bgfetch.store.retries" or "bgfetch.stores.unavailable")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "store" && Equals(tag.Value, store))
                    {
                        Interlocked.Add(ref instrument.Name == "bgfetch.store.retries" ? ref _retries : ref _unavailable, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Retries => Interlocked.Read(ref _retries);

        public long Unavailable => Interlocked.Read(ref _unavailable);

        public void Dispose() => _listener.Dispose();
    }
}
