namespace BgFetchCluster.Actors.Runtime;

/// <summary>Stops the receiving actor after the messages enqueued before it (Akka's <c>PoisonPill</c>).</summary>
public sealed class PoisonPill
{
    /// <summary>The single instance.</summary>
    public static PoisonPill Instance { get; } = new();

    private PoisonPill()
    {
    }

    /// <inheritdoc />
    public override string ToString() => "PoisonPill";
}

/// <summary>Tells a watcher that a watched actor has stopped (Akka's <c>Terminated</c>).</summary>
/// <param name="ActorRef">The actor that stopped.</param>
public sealed record Terminated(IActorRef ActorRef)
{
    /// <inheritdoc />
    public override string ToString() => $"Terminated({ActorRef.Path})";
}

/// <summary>Sent to an actor that received nothing for its receive timeout.</summary>
public sealed class ReceiveTimeout
{
    /// <summary>The single instance.</summary>
    public static ReceiveTimeout Instance { get; } = new();

    private ReceiveTimeout()
    {
    }

    /// <inheritdoc />
    public override string ToString() => "ReceiveTimeout";
}

/// <summary>Marks messages that do not reset the receiver's receive timeout (timers, progress ticks).</summary>
public interface INotInfluenceReceiveTimeout;

/// <summary>Status replies, as Akka's <c>Status</c>: an <c>Ask</c> completes with the failure's exception.</summary>
public static class Status
{
    /// <summary>A successful completion carrying an optional value.</summary>
    public sealed record Success(object? Value);

    /// <summary>A failed operation; an <c>Ask</c> receiving it throws <see cref="Cause"/>.</summary>
    public sealed record Failure(Exception Cause)
    {
        /// <inheritdoc />
        public override string ToString() => $"Failure({Cause.GetType().Name}: {Cause.Message})";
    }
}

/// <summary>A message nobody could receive: the target had stopped or did not handle it.</summary>
/// <param name="Message">The undelivered message.</param>
/// <param name="Sender">Who sent it.</param>
/// <param name="Recipient">Who it was for.</param>
/// <param name="Unhandled">True when the recipient was alive but did not handle the message.</param>
public sealed record DeadLetter(object Message, IActorRef? Sender, IActorRef Recipient, bool Unhandled)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{(Unhandled ? "Unhandled" : "DeadLetter")}({Message.GetType().Name} from {Sender?.Path ?? "nobody"} to {Recipient.Path})";
}
