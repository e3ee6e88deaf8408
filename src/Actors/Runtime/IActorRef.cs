namespace BgFetchCluster.Actors.Runtime;

/// <summary>
/// A handle to an actor: the only way to reach it. Safe to share across threads and to keep after
/// the actor stops (messages then go to dead letters), exactly like Akka's <c>IActorRef</c>.
/// </summary>
public interface IActorRef
{
    /// <summary>The actor's path, for example <c>/user/registrations/my-fetch</c>.</summary>
    string Path { get; }

    /// <summary>Enqueues a message for the actor; never blocks and never throws for a stopped actor.</summary>
    void Tell(object message, IActorRef? sender);
}

/// <summary>Well-known references.</summary>
public static class ActorRefs
{
    /// <summary>The absent sender: replies to it go to dead letters.</summary>
    public static IActorRef? NoSender => null;

    /// <summary>A reference that swallows every message; useful as an explicit "nobody".</summary>
    public static IActorRef Nobody { get; } = new NobodyRef();

    private sealed class NobodyRef : IActorRef
    {
        public string Path => "/nobody";

        public void Tell(object message, IActorRef? sender)
        {
        }

        public override string ToString() => Path;
    }
}

/// <summary>Akka-style <c>Tell</c> that uses the current actor (if any) as the sender.</summary>
public static class ActorRefExtensions
{
    /// <summary>Sends <paramref name="message"/> with the calling actor as sender, or no sender outside an actor.</summary>
    public static void Tell(this IActorRef receiver, object message)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        receiver.Tell(message, ActorCell.Current?.Self);
    }

    /// <summary>Forwards a message keeping the original sender, as Akka's <c>Forward</c>.</summary>
    public static void Forward(this IActorRef receiver, object message)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        receiver.Tell(message, ActorCell.Current?.Sender);
    }
}

/// <summary>
/// A reference that can also receive system messages (lifecycle, supervision, death watch). Only
/// the kernel and its TestKit can derive from it: system messages are internal.
/// </summary>
public abstract class InternalActorRef : IActorRef
{
    /// <inheritdoc />
    public abstract string Path { get; }

    /// <inheritdoc />
    public abstract void Tell(object message, IActorRef? sender);

    /// <summary>Delivers a system message; they overtake user messages.</summary>
    internal abstract void SendSystemMessage(SystemMessage message);

    /// <inheritdoc />
    public override string ToString() => Path;
}
