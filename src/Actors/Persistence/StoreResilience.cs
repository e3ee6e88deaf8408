using BgFetchCluster.Actors.Fetch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// The retries of one store (journal, snapshot store, body store): one Polly.Core <see cref="ResiliencePipeline"/>
/// that waits out transient errors (<see cref="StoreErrors.IsUnavailable"/>: transient, or wrapping one, as linq2db does) with exponential backoff and jitter for up
/// to the outage tolerance (<c>BgFetch:Storage:OutageTolerance</c>), then lets the last error through. Errors that are
/// not transient are never retried. Callers put each database round trip (or transaction) through
/// <see cref="ExecuteAsync{T}"/>; an operation must be safe to run again after a failure midway. Every retried round trip
/// counts in <see cref="FetchMetrics.StoreRetries"/>, the store counts in <see cref="FetchMetrics.StoresUnavailable"/> while
/// one of its operations retries, and the node's <see cref="StoreHealth"/> hears of every transient error and success.
/// </summary>
public sealed partial class StoreResilience
{
    private static readonly ResiliencePropertyKey<long> StartedKey = new("bgfetch.store.started");
    private static readonly ResiliencePropertyKey<bool> RetryingKey = new("bgfetch.store.retrying");

    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _log;
    private readonly StoreHealth? _health;
    private readonly KeyValuePair<string, object?> _storeTag;

    // Operations of this store retrying now; the store is in an outage while there is one.
    private int _retrying;

    /// <summary>
    /// Creates the pipeline of the store called <paramref name="store"/> (for logs and the metrics' <c>store</c> tag), which
    /// reports to the node's <paramref name="health"/> when there is one.
    /// </summary>
    public StoreResilience(string store, TimeSpan outageTolerance, ILogger? logger = null, TimeProvider? timeProvider = null, StoreHealth? health = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(outageTolerance, TimeSpan.Zero);
        Store = store;
        OutageTolerance = outageTolerance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _log = logger ?? NullLogger.Instance;
        _health = health;
        _storeTag = new("store", store);
        _pipeline = new ResiliencePipelineBuilder { Name = "bgfetch-" + store, TimeProvider = _timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome.Exception, args.Context)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(5),

                // Bounded by time (the outage tolerance, in ShouldRetry), not by a count.
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    FetchMetrics.StoreRetries.Add(1, _storeTag);
                    if (args.AttemptNumber == 0)
                    {
                        args.Context.Properties.Set(RetryingKey, true);
                        EnterOutage();
                        LogUnavailable(_log, Store, OutageTolerance, args.Outcome.Exception?.Message ?? "no error");
                    }
                    else
                    {
                        LogRetrying(_log, Store, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "no error");
                    }

                    return default;
                },
            })
            .Build();
    }

    /// <summary>The store these retries are for.</summary>
    public string Store { get; }

    /// <summary>How long transient errors are retried before the last one goes through.</summary>
    public TimeSpan OutageTolerance { get; }

    /// <summary>Retries nothing: for tests and tools that want every error at once.</summary>
    public static StoreResilience None { get; } = new("none", TimeSpan.Zero);

    /// <summary>Runs <paramref name="operation"/>, again after each transient error, within the outage tolerance.</summary>
    public async ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StartedKey, _timeProvider.GetTimestamp());
        try
        {
            var result = await _pipeline.ExecuteAsync(static (ctx, op) => op(ctx.CancellationToken), context, operation).ConfigureAwait(false);
            _health?.ReportSuccess();
            return result;
        }
        finally
        {
            if (context.Properties.GetValue(RetryingKey, false))
            {
                LeaveOutage();
            }

            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Runs an operation without a result; see <see cref="ExecuteAsync{T}"/>.</summary>
    public async ValueTask ExecuteAsync(Func<CancellationToken, ValueTask> operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        await ExecuteAsync(
            async token =>
            {
                await operation(token).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private void EnterOutage()
    {
        if (Interlocked.Increment(ref _retrying) == 1)
        {
            FetchMetrics.StoresUnavailable.Add(1, _storeTag);
        }
    }

    private void LeaveOutage()
    {
        if (Interlocked.Decrement(ref _retrying) == 0)
        {
            FetchMetrics.StoresUnavailable.Add(-1, _storeTag);
        }
    }

    private bool ShouldRetry(Exception? exception, ResilienceContext context)
    {
        if (exception is null || context.CancellationToken.IsCancellationRequested || !StoreErrors.IsUnavailable(exception))
        {
            return false;
        }

        _health?.ReportFailure(Store, exception.Message);

        var started = context.Properties.GetValue(StartedKey, _timeProvider.GetTimestamp());
        if (_timeProvider.GetElapsedTime(started) < OutageTolerance)
        {
            return true;
        }

        LogGaveUp(_log, Store, OutageTolerance, exception.Message);
        return false;
    }
}
