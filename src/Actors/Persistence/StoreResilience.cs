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
/// <see cref="ExecuteAsync{T}"/>; an operation must be safe to run again after a failure midway.
/// </summary>
public sealed partial class StoreResilience
{
    private static readonly ResiliencePropertyKey<long> StartedKey = new("bgfetch.store.started");

    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _log;

    /// <summary>Creates the pipeline of the store called <paramref name="store"/> (for logs).</summary>
    public StoreResilience(string store, TimeSpan outageTolerance, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(outageTolerance, TimeSpan.Zero);
        Store = store;
        OutageTolerance = outageTolerance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _log = logger ?? NullLogger.Instance;
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
                    if (args.AttemptNumber == 0)
                    {
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
            return await _pipeline.ExecuteAsync(static (ctx, op) => op(ctx.CancellationToken), context, operation).ConfigureAwait(false);
        }
        finally
        {
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

    private bool ShouldRetry(Exception? exception, ResilienceContext context)
    {
        if (exception is null || context.CancellationToken.IsCancellationRequested || !StoreErrors.IsUnavailable(exception))
        {
            return false;
        }

        var started = context.Properties.GetValue(StartedKey, _timeProvider.GetTimestamp());
        if (_timeProvider.GetElapsedTime(started) < OutageTolerance)
        {
            return true;
        }

        LogGaveUp(_log, Store, OutageTolerance, exception.Message);
        return false;
    }
}
