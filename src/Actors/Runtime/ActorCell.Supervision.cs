namespace BgFetchCluster.Actors.Runtime;

/// <summary>The parent's side of supervision: decide, count restarts, back off.</summary>
internal sealed partial class ActorCell
{
    /// <summary>Restart bookkeeping about this cell, kept by (and only touched on the thread of) its parent.</summary>
    private readonly ChildRestartStats _restartStats = new();

    private void HandleChildFailure(ActorCell child, Exception cause)
    {
        if (!IsLiveChild(child))
        {
            return;
        }

        var strategy = _props.SupervisorStrategy ?? _actor?.InvokeSupervisorStrategy() ?? Runtime.SupervisorStrategy.Default;
        Directive directive;
        try
        {
            directive = cause is ActorInitializationException ? Directive.Stop : strategy.Decider(cause);
        }
        catch (Exception deciderFailure)
        {
            _system.LogActorFailed(Path, deciderFailure);
            directive = Directive.Escalate;
        }

        switch (directive)
        {
            case Directive.Resume:
                child.SendSystemMessage(new Resume());
                break;
            case Directive.Restart:
                RestartChild(child, cause, strategy);
                break;
            case Directive.Stop:
                child.SendSystemMessage(new Terminate());
                break;
            case Directive.Escalate when _parent is null:
                // Nobody above the guardian: stop the child instead of failing the whole system.
                child.SendSystemMessage(new Terminate());
                break;
            case Directive.Escalate:
                throw cause is ActorEscalationException ? cause : new ActorEscalationException(child.Path, cause);
        }
    }

    private void RestartChild(ActorCell child, Exception cause, SupervisorStrategy strategy)
    {
        var stats = child._restartStats;
        var now = _system.TimeProvider.GetTimestamp();
        if (stats.RestartCount == 0 || _system.TimeProvider.GetElapsedTime(stats.WindowStartTimestamp, now) > strategy.Window)
        {
            stats.RestartCount = 0;
            stats.WindowStartTimestamp = now;
        }

        stats.RestartCount++;
        if (strategy.MaxRetries >= 0 && stats.RestartCount > strategy.MaxRetries)
        {
            _system.LogRestartsExhausted(child.Path, strategy.MaxRetries);
            child.SendSystemMessage(new Terminate());
            return;
        }

        var delay = strategy.BackoffFor(stats.RestartCount);
        if (delay <= TimeSpan.Zero)
        {
            child.SendSystemMessage(new Recreate(cause));
            return;
        }

        // The child stays suspended (its mailbox keeps filling) until the backoff elapses.
        _system.ScheduleOnce(delay, () => child.SendSystemMessage(new Recreate(cause)));
    }
}
