namespace BgFetchCluster.Actors.Runtime;

/// <summary>Named timers that send messages to their actor (Akka's <c>ITimerScheduler</c>).</summary>
public interface ITimerScheduler
{
    /// <summary>Sends <paramref name="message"/> once after <paramref name="delay"/>, replacing a timer with the same key.</summary>
    void StartSingleTimer(object key, object message, TimeSpan delay);

    /// <summary>Sends <paramref name="message"/> every <paramref name="interval"/>, replacing a timer with the same key.</summary>
    void StartPeriodicTimer(object key, object message, TimeSpan interval);

    /// <summary>True while the timer is pending (a single timer stops being active once delivered).</summary>
    bool IsTimerActive(object key);

    /// <summary>Cancels the timer; a message it already queued is not delivered.</summary>
    void Cancel(object key);

    /// <summary>Cancels every timer of the actor.</summary>
    void CancelAll();
}

/// <summary>
/// Timers on the system's <see cref="TimeProvider"/>. Each start bumps a generation; a fired message
/// carries its generation and is dropped on arrival unless it is still current, so a cancelled or
/// replaced timer never delivers (even if it fired just before the cancel).
/// </summary>
internal sealed class TimerScheduler(ActorCell cell) : ITimerScheduler
{
    private readonly Dictionary<object, Entry> _timers = [];
    private int _generation;

    public void StartSingleTimer(object key, object message, TimeSpan delay) => Start(key, message, delay, periodic: false);

    public void StartPeriodicTimer(object key, object message, TimeSpan interval) => Start(key, message, interval, periodic: true);

    public bool IsTimerActive(object key) => _timers.ContainsKey(key);

    public void Cancel(object key)
    {
        if (_timers.Remove(key, out var entry))
        {
            entry.Timer.Dispose();
        }
    }

    public void CancelAll()
    {
        foreach (var entry in _timers.Values)
        {
            entry.Timer.Dispose();
        }

        _timers.Clear();
    }

    /// <summary>Returns the timer's message if it is still current; forgets single timers once delivered.</summary>
    internal bool TryUnwrap(TimerMessage fired, out object? message)
    {
        if (_timers.TryGetValue(fired.Key, out var entry) && entry.Generation == fired.Generation)
        {
            if (!entry.Periodic)
            {
                _timers.Remove(fired.Key);
                entry.Timer.Dispose();
            }

            message = entry.Message;
            return true;
        }

        message = null;
        return false;
    }

    private void Start(object key, object message, TimeSpan period, bool periodic)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(message);
        Cancel(key);
        var fired = new TimerMessage(key, ++_generation);
        var timer = cell.System.TimeProvider.CreateTimer(
            static state =>
            {
                var (target, firedMessage) = ((ActorCell, TimerMessage))state!;
                target.Tell(firedMessage, null);
            },
            (cell, fired),
            period,
            periodic ? period : Timeout.InfiniteTimeSpan);
        _timers[key] = new Entry(timer, fired.Generation, message, periodic);
    }

    /// <summary>What a timer actually sends; unwrapped by the cell before the actor sees it.</summary>
    internal sealed record TimerMessage(object Key, int Generation);

    private sealed record Entry(ITimer Timer, int Generation, object Message, bool Periodic);
}
