namespace BgFetchCluster.Actors.Runtime;

/// <summary>Death watch: who watches this actor, whom it watches, and the <see cref="Terminated"/> it receives.</summary>
internal sealed partial class ActorCell
{
    /// <summary>Actors to notify when this one stops.</summary>
    private HashSet<InternalActorRef>? _watchedBy;

    /// <summary>Actors this one watches; a Terminated is delivered only while its subject is still here.</summary>
    private HashSet<InternalActorRef>? _watching;

    /// <summary>Stopped watchees whose Terminated is queued but not yet delivered; Unwatch withdraws it.</summary>
    private HashSet<IActorRef>? _terminatedPending;

    public IActorRef Watch(IActorRef actor)
    {
        if (actor is InternalActorRef target && !ReferenceEquals(target, this) && (_watching ??= []).Add(target))
        {
            target.SendSystemMessage(new Watch(target, this));
        }

        return actor;
    }

    public IActorRef Unwatch(IActorRef actor)
    {
        if (actor is InternalActorRef target)
        {
            if (_watching?.Remove(target) == true)
            {
                target.SendSystemMessage(new Unwatch(target, this));
            }

            _terminatedPending?.Remove(actor);
        }

        return actor;
    }

    private void HandleWatch(Watch watch)
    {
        if (ReferenceEquals(watch.Watchee, this) && !ReferenceEquals(watch.Watcher, this))
        {
            (_watchedBy ??= []).Add(watch.Watcher);
        }
    }

    private void HandleUnwatch(Unwatch unwatch)
    {
        if (ReferenceEquals(unwatch.Watchee, this))
        {
            _watchedBy?.Remove(unwatch.Watcher);
        }
    }

    private void HandleDeathWatchNotification(InternalActorRef actor)
    {
        if (_watching?.Remove(actor) == true)
        {
            // Delivered as a user message so it queues behind what the stopped actor sent before it died.
            (_terminatedPending ??= []).Add(actor);
            _queue.Enqueue(new Terminated(actor), actor);
        }

        var (wasChild, noneLeft) = RemoveChild(actor);
        if (wasChild && noneLeft)
        {
            OnAllChildrenGone();
        }
    }

    private bool TryConsumeTerminated(Terminated terminated) =>
        _terminatedPending?.Remove(terminated.ActorRef) == true;

    private void TellWatchersAndParent()
    {
        if (_watching is not null)
        {
            foreach (var watched in _watching)
            {
                watched.SendSystemMessage(new Unwatch(watched, this));
            }

            _watching = null;
        }

        var notifiedParent = false;
        if (_watchedBy is not null)
        {
            foreach (var watcher in _watchedBy)
            {
                watcher.SendSystemMessage(new DeathWatchNotification(this));
                notifiedParent |= ReferenceEquals(watcher, _parent);
            }

            _watchedBy = null;
        }

        if (!notifiedParent)
        {
            _parent?.SendSystemMessage(new DeathWatchNotification(this));
        }
    }
}
