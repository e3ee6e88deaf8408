namespace BgFetchCluster.Actors.Runtime;

/// <summary>What an actor sees of itself and its surroundings while it handles a message.</summary>
public interface IActorContext
{
    /// <summary>This actor.</summary>
    IActorRef Self { get; }

    /// <summary>The sender of the message being handled; <see cref="ActorRefs.Nobody"/> when there is none.</summary>
    IActorRef Sender { get; }

    /// <summary>The supervising parent.</summary>
    IActorRef Parent { get; }

    /// <summary>The system the actor lives in.</summary>
    ActorSystem System { get; }

    /// <summary>The live children.</summary>
    IEnumerable<IActorRef> Children { get; }

    /// <summary>Starts a child; the name must be unique among live children (null picks one).</summary>
    IActorRef ActorOf(Props props, string? name = null);

    /// <summary>The live child with this name, or null.</summary>
    IActorRef? Child(string name);

    /// <summary>Stops this actor or one of its children, after the current message.</summary>
    void Stop(IActorRef actor);

    /// <summary>Receive a <see cref="Terminated"/> when <paramref name="actor"/> stops (at once if it already has).</summary>
    IActorRef Watch(IActorRef actor);

    /// <summary>Stops watching; no <see cref="Terminated"/> for it arrives after this returns.</summary>
    IActorRef Unwatch(IActorRef actor);

    /// <summary>Sends <see cref="ReceiveTimeout"/> after this long without a message; null turns it off.</summary>
    void SetReceiveTimeout(TimeSpan? timeout);
}
