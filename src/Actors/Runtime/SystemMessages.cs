namespace BgFetchCluster.Actors.Runtime;

/// <summary>
/// Lifecycle, supervision and death-watch messages. They travel in a separate intrusive list and are
/// processed before any user message (Akka's <c>SystemMessage</c>).
/// </summary>
internal abstract class SystemMessage
{
    /// <summary>Link in the cell's lock-free system-message stack; owned by whoever holds the list.</summary>
    public SystemMessage? Next;
}

/// <summary>Creates the actor instance and runs <c>PreStart</c>.</summary>
internal sealed class Create : SystemMessage;

/// <summary>Stops the actor: children first, then <c>PostStop</c>.</summary>
internal sealed class Terminate : SystemMessage;

/// <summary>Continues a suspended (failed) actor with its current state.</summary>
internal sealed class Resume : SystemMessage;

/// <summary>Replaces a failed actor's instance with a fresh one from its props.</summary>
internal sealed class Recreate(Exception cause) : SystemMessage
{
    public Exception Cause { get; } = cause;
}

/// <summary>A child reports that it failed and is suspended until its parent decides.</summary>
internal sealed class Failed(ActorCell child, Exception cause) : SystemMessage
{
    public ActorCell Child { get; } = child;

    public Exception Cause { get; } = cause;
}

/// <summary>Asks <see cref="Watchee"/> to tell <see cref="Watcher"/> when it stops.</summary>
internal sealed class Watch(InternalActorRef watchee, InternalActorRef watcher) : SystemMessage
{
    public InternalActorRef Watchee { get; } = watchee;

    public InternalActorRef Watcher { get; } = watcher;
}

/// <summary>Withdraws a <see cref="Watch"/>.</summary>
internal sealed class Unwatch(InternalActorRef watchee, InternalActorRef watcher) : SystemMessage
{
    public InternalActorRef Watchee { get; } = watchee;

    public InternalActorRef Watcher { get; } = watcher;
}

/// <summary>An actor this cell watches, or one of its children, has stopped.</summary>
internal sealed class DeathWatchNotification(InternalActorRef actor) : SystemMessage
{
    public InternalActorRef Actor { get; } = actor;
}
