namespace BgFetchCluster.Actors.Runtime;

/// <summary>Receive timeout: one lazily made timer per actor that asked for it, rearmed after each message.</summary>
internal sealed partial class ActorCell
{
    private TimeSpan? _receiveTimeout;
    private ITimer? _receiveTimeoutTimer;

    public void SetReceiveTimeout(TimeSpan? timeout)
    {
        if (timeout is { } value && value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A receive timeout must be positive, or null to turn it off.");
        }

        _receiveTimeout = timeout;
        if (timeout is null)
        {
            CancelReceiveTimeout();
        }
        else
        {
            RearmReceiveTimeout();
        }
    }

    private void RearmReceiveTimeout()
    {
        if (_receiveTimeout is not { } timeout)
        {
            return;
        }

        _receiveTimeoutTimer ??= _system.TimeProvider.CreateTimer(
            static state => ((ActorCell)state!).Tell(Runtime.ReceiveTimeout.Instance, null),
            this,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        _receiveTimeoutTimer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    private void CancelReceiveTimeout() => _receiveTimeoutTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    private void DisposeReceiveTimeout()
    {
        _receiveTimeoutTimer?.Dispose();
        _receiveTimeoutTimer = null;
        _receiveTimeout = null;
    }
}
