using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Node.Configuration;

/// <summary>Starts the fetch node with the web host and stops it (children before parents) on shutdown.</summary>
public sealed class FetchNodeHost(FetchNodeOptions options, ILoggerFactory loggerFactory, TimeProvider timeProvider) : IHostedService, IAsyncDisposable
{
    private readonly TaskCompletionSource<FetchNode> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The running node; endpoints wait for it while the node starts.</summary>
    public Task<FetchNode> Node => _started.Task;

    /// <summary>True once the node runs (for <c>/ready</c>).</summary>
    public bool IsReady => _started.Task.IsCompletedSuccessfully;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _started.TrySetResult(await FetchNode.StartAsync(options, loggerFactory, timeProvider, cancellationToken));
        }
        catch (Exception exception)
        {
            _started.TrySetException(exception);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_started.Task.IsCompletedSuccessfully)
        {
            await _started.Task.Result.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_started.Task.IsCompletedSuccessfully)
        {
            await _started.Task.Result.DisposeAsync();
        }
    }
}
