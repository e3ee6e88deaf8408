using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Which failures are worth another attempt, how long to wait, and pausing while the body store is away.</summary>
internal static partial class RecordDownload
{
    private static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        _ when cancellationToken.IsCancellationRequested => false,
        _ when Fetcher.FindRefusal(exception) is not null => false,
        TargetRefusedException or InvalidResumeException or ResponseStoreException => false,
        RetryableStatusException or HttpRequestException or IOException or TimeoutException => true,
        OperationCanceledException => true,
        _ => false,
    };

    /// <summary>Gives up a writer whose store failed: what it holds past the last flush is cut by the next open.</summary>
    private static async Task<IResponseBodyWriter?> DropWriterAsync(IResponseBodyWriter? writer)
    {
        if (writer is not null)
        {
            try
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (StoreErrors.IsUnavailable(exception))
            {
                // Nothing checkpointed depends on what it could not store.
            }
        }

        return null;
    }

    /// <summary>How long a download pauses while its store is away: 1 s doubling to 30 s, with jitter.</summary>
    private static TimeSpan PauseDelay(int pause) =>
        TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(pause - 1, 5)))) * (0.75 + (Random.Shared.NextDouble() / 2));

    private static TimeSpan RetryDelay(FetchOptions options, int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } requested)
        {
            return requested < TimeSpan.Zero ? TimeSpan.Zero : requested > options.MaxRetryAfter ? options.MaxRetryAfter : requested;
        }

        var exponential = options.RetryBaseDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        return exponential * (0.5 + Random.Shared.NextDouble());
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider timeProvider) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - timeProvider.GetUtcNow(),
            _ => null,
        };

    private static string Describe(Exception exception) => exception switch
    {
        _ when Fetcher.FindRefusal(exception) is { } refusal => refusal.Message,
        HttpRequestException { InnerException: { } inner } http => $"{http.Message} ({inner.Message})",
        _ => exception.Message,
    };
}
