namespace BgFetchCluster.Actors.Runtime;

/// <summary>What a parent does with a failed child (Akka's <c>Directive</c>).</summary>
public enum Directive
{
    /// <summary>Keep the child's state and go on with the next message.</summary>
    Resume,

    /// <summary>Replace the child's instance with a fresh one; its mailbox is kept.</summary>
    Restart,

    /// <summary>Stop the child.</summary>
    Stop,

    /// <summary>Fail the parent with the child's exception, handing the decision upwards.</summary>
    Escalate,
}

/// <summary>
/// One-for-one supervision: only the failed child is affected, never its siblings. Restarts are
/// limited to <see cref="MaxRetries"/> within <see cref="Window"/> (then the child stops) and delayed
/// by an exponential backoff between <see cref="MinBackoff"/> and <see cref="MaxBackoff"/>.
/// </summary>
public sealed class SupervisorStrategy
{
    /// <summary>Restart on any exception, up to 10 times a minute, without delay (Akka's default).</summary>
    public static SupervisorStrategy Default { get; } = new(static _ => Directive.Restart);

    /// <summary>Stop a failing child; used where a restart could repeat a side effect.</summary>
    public static SupervisorStrategy StoppingStrategy { get; } = new(static _ => Directive.Stop);

    /// <summary>Creates a strategy.</summary>
    /// <param name="decider">Maps the child's exception to a directive.</param>
    /// <param name="maxRetries">Restarts allowed within <paramref name="window"/>; negative means unlimited.</param>
    /// <param name="window">The window in which restarts are counted; null means forever.</param>
    /// <param name="minBackoff">Delay before the first restart.</param>
    /// <param name="maxBackoff">Upper bound of the doubling delay.</param>
    public SupervisorStrategy(
        Func<Exception, Directive> decider,
        int maxRetries = 10,
        TimeSpan? window = null,
        TimeSpan minBackoff = default,
        TimeSpan maxBackoff = default)
    {
        ArgumentNullException.ThrowIfNull(decider);
        Decider = decider;
        MaxRetries = maxRetries;
        Window = window ?? TimeSpan.FromMinutes(1);
        MinBackoff = minBackoff;
        MaxBackoff = maxBackoff < minBackoff ? minBackoff : maxBackoff;
    }

    /// <summary>Maps an exception to a directive.</summary>
    public Func<Exception, Directive> Decider { get; }

    /// <summary>Restarts allowed within <see cref="Window"/>; negative means unlimited.</summary>
    public int MaxRetries { get; }

    /// <summary>The window in which restarts are counted.</summary>
    public TimeSpan Window { get; }

    /// <summary>Delay before the first restart; zero restarts at once.</summary>
    public TimeSpan MinBackoff { get; }

    /// <summary>The largest restart delay.</summary>
    public TimeSpan MaxBackoff { get; }

    /// <summary>
    /// The delay before restart number <paramref name="restartCount"/> (1-based): MinBackoff doubled
    /// each time, capped at MaxBackoff.
    /// </summary>
    public TimeSpan BackoffFor(int restartCount)
    {
        if (MinBackoff <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(restartCount - 1, 30);
        var ticks = Math.Min(MinBackoff.Ticks * (1L << exponent), MaxBackoff.Ticks);
        return TimeSpan.FromTicks(ticks);
    }
}

/// <summary>Restart bookkeeping a parent keeps for each child.</summary>
internal sealed class ChildRestartStats
{
    public int RestartCount;

    public long WindowStartTimestamp;
}

/// <summary>Thrown into a parent when a child escalates; carries the child's failure.</summary>
public sealed class ActorEscalationException(string childPath, Exception cause)
    : Exception($"Child {childPath} escalated its failure: {cause.Message}", cause);

/// <summary>A failure while creating an actor or in its <c>PreStart</c>.</summary>
public sealed class ActorInitializationException(string path, Exception cause)
    : Exception($"Actor {path} failed to start: {cause.Message}", cause);
