namespace BgFetchCluster.Actors.Runtime;

/// <summary>Creation, failure, restart and termination of the actor instance.</summary>
internal sealed partial class ActorCell
{
    private Exception? _pendingRecreateCause;

    private void HandleSystemMessageSafely(SystemMessage message)
    {
        try
        {
            HandleSystemMessage(message);
        }
        catch (Exception exception)
        {
            Fail(exception);
        }
    }

    private void HandleSystemMessage(SystemMessage message)
    {
        if (Volatile.Read(ref _state) == StateTerminated)
        {
            // A stopped actor only answers watches, so a late watcher still learns it is gone.
            if (message is Watch watch && ReferenceEquals(watch.Watchee, this))
            {
                watch.Watcher.SendSystemMessage(new DeathWatchNotification(this));
            }

            return;
        }

        switch (message)
        {
            case Create:
                CreateInstance(null);
                break;
            case Terminate:
                BeginTerminate();
                break;
            case Resume when _state == StateSuspended:
                _state = StateNormal;
                _currentMessage = null;
                break;
            case Recreate recreate when _state == StateSuspended:
                BeginRecreate(recreate.Cause);
                break;
            case Failed failed:
                HandleChildFailure(failed.Child, failed.Cause);
                break;
            case Watch watch:
                HandleWatch(watch);
                break;
            case Unwatch unwatch:
                HandleUnwatch(unwatch);
                break;
            case DeathWatchNotification notification:
                HandleDeathWatchNotification(notification.Actor);
                break;
        }
    }

    /// <summary>Makes a fresh instance; <paramref name="restartCause"/> is null on the first start.</summary>
    private void CreateInstance(Exception? restartCause)
    {
        var previousCreating = _creating;
        _creating = this;
        try
        {
            _actor = _props.NewActor();
            _creating = previousCreating;
            _state = StateNormal;
            if (restartCause is null)
            {
                _actor.InvokePreStart();
            }
            else
            {
                _actor.InvokePostRestart(restartCause);
            }
        }
        catch (Exception exception)
        {
            Fail(new ActorInitializationException(Path, exception));
        }
        finally
        {
            _creating = previousCreating;
        }
    }

    /// <summary>Suspends the actor and hands the failure to its parent (the supervisor decides).</summary>
    private void Fail(Exception exception)
    {
        if (_state is StateTerminating or StateTerminated)
        {
            _system.LogActorFailed(Path, exception);
            return;
        }

        _state = StateSuspended;
        CancelReceiveTimeout();
        _system.LogActorFailed(Path, exception);
        if (_parent is null)
        {
            // The guardian has nobody to ask: it carries on.
            _state = StateNormal;
            return;
        }

        _parent.SendSystemMessage(new Failed(this, exception));
    }

    private void BeginRecreate(Exception cause)
    {
        var failed = _actor;
        if (failed is not null)
        {
            try
            {
                failed.InvokePreRestart(cause, _currentMessage);
            }
            catch (Exception exception)
            {
                _system.LogActorFailed(Path, exception);
            }

            failed.TimersOrNull?.CancelAll();

            // Stashed messages survive the restart, ahead of the rest of the mailbox (as in Akka).
            failed.StashOrNull?.UnstashAll();
        }

        CancelReceiveTimeout();
        _receiveTimeout = null;
        _currentMessage = null;
        if (HasChildren)
        {
            // A new instance may reuse its children's names: wait until the old ones are gone.
            _state = StateRestarting;
            _pendingRecreateCause = cause;
            return;
        }

        CreateInstance(cause);
    }

    private void BeginTerminate()
    {
        if (_state is StateTerminating or StateTerminated)
        {
            return;
        }

        _state = StateTerminating;
        CancelReceiveTimeout();
        _actor?.TimersOrNull?.CancelAll();
        var children = ChildrenSnapshot();
        if (children.Length == 0)
        {
            FinishTerminate();
            return;
        }

        // Children stop before their parent; the last one's notification finishes the job.
        foreach (var child in children)
        {
            child.SendSystemMessage(new Terminate());
        }
    }

    /// <summary>Called when the last child is gone while terminating or restarting.</summary>
    private void OnAllChildrenGone()
    {
        if (_state == StateTerminating)
        {
            FinishTerminate();
        }
        else if (_state == StateRestarting)
        {
            var cause = _pendingRecreateCause!;
            _pendingRecreateCause = null;
            CreateInstance(cause);
        }
    }

    private void FinishTerminate()
    {
        try
        {
            _actor?.InvokePostStop();
        }
        catch (Exception exception)
        {
            _system.LogActorFailed(Path, exception);
        }

        _actor = null;
        _currentMessage = null;
        DisposeReceiveTimeout();
        Volatile.Write(ref _state, StateTerminated);
        TellWatchersAndParent();
        if (_parent is null)
        {
            _system.OnGuardianTerminated();
        }
    }
}
