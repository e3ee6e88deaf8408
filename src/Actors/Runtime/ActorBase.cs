namespace BgFetchCluster.Actors.Runtime;

/// <summary>
/// The base of every actor, in the style of Akka's <c>ReceiveActor</c>: the constructor declares
/// handlers with <see cref="Receive{T}(Action{T}, Predicate{T})"/>; <see cref="Become"/> swaps them.
/// Handlers run one message at a time on the actor's mailbox, so actor state needs no locks.
/// Long work (I/O) must not run in a handler: start a task and <c>PipeTo</c> its result to Self.
/// </summary>
public abstract partial class ActorBase
{
    private readonly ActorCell _cell;
    private List<Handler> _handlers = [];
    private Stash? _stash;
    private TimerScheduler? _timers;

    /// <summary>Binds the instance to the cell creating it; actors are made by ActorOf, never by new.</summary>
    protected ActorBase()
    {
        _cell = ActorCell.Creating
            ?? throw new InvalidOperationException($"{GetType().Name} must be created through ActorOf with Props, not with new.");
    }

    /// <summary>This actor's context: self, sender, parent, children, watch, receive timeout.</summary>
    protected IActorContext Context => _cell;

    /// <summary>This actor.</summary>
    protected IActorRef Self => _cell;

    /// <summary>The sender of the message being handled.</summary>
    protected IActorRef Sender => _cell.Sender;

    /// <summary>Messages put aside until the actor can handle them (Akka's <c>IStash</c>).</summary>
    protected IStash Stash => _stash ??= new Stash(_cell);

    /// <summary>Named timers that send messages to Self and die with the actor (Akka's <c>ITimerScheduler</c>).</summary>
    protected ITimerScheduler Timers => _timers ??= new TimerScheduler(_cell);

    internal ActorCell Cell => _cell;

    internal Stash? StashOrNull => _stash;

    internal TimerScheduler? TimersOrNull => _timers;

    internal virtual void InvokePreStart() => PreStart();

    internal void InvokePostStop() => PostStop();

    internal void InvokePreRestart(Exception reason, object? message) => PreRestart(reason, message);

    internal virtual void InvokePostRestart(Exception reason) => PostRestart(reason);

    internal SupervisorStrategy InvokeSupervisorStrategy() => SupervisorStrategy();

    internal bool InvokeAroundReceive(object message) => AroundReceive(message);

    /// <summary>Handles <typeparamref name="T"/> (optionally only when <paramref name="shouldHandle"/> holds).</summary>
    protected void Receive<T>(Action<T> handler, Predicate<T>? shouldHandle = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handlers.Add(new Handler<T>(handler, shouldHandle));
    }

    /// <summary>Handles every message not matched by an earlier handler.</summary>
    protected void ReceiveAny(Action<object> handler) => Receive(handler);

    /// <summary>Replaces all handlers with those <paramref name="configure"/> declares (Akka's <c>Become</c>).</summary>
    protected void Become(Action configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _handlers = [];
        configure();
    }

    /// <summary>Runs once before the first message, and again after a restart (unless overridden in PostRestart).</summary>
    protected virtual void PreStart()
    {
    }

    /// <summary>Runs after the actor and all its children have stopped.</summary>
    protected virtual void PostStop()
    {
    }

    /// <summary>Runs on the failed instance before it is replaced; by default stops children and calls PostStop.</summary>
    protected virtual void PreRestart(Exception reason, object? message)
    {
        foreach (var child in _cell.Children)
        {
            _cell.Stop(child);
        }

        PostStop();
    }

    /// <summary>Runs on the fresh instance after a restart; by default calls PreStart.</summary>
    protected virtual void PostRestart(Exception reason) => PreStart();

    /// <summary>The strategy for this actor's children; <see cref="Props.SupervisorStrategy"/> wins when set.</summary>
    protected virtual SupervisorStrategy SupervisorStrategy() => Runtime.SupervisorStrategy.Default;

    /// <summary>Called for messages no handler took; by default publishes them to dead letters as unhandled.</summary>
    protected virtual void Unhandled(object message) =>
        _cell.System.PublishDeadLetter(new DeadLetter(message, _cell.SenderOrNull, _cell, Unhandled: true));

    /// <summary>
    /// The entry point for every user message; persistent actors override it to stash commands while
    /// they recover or persist. Returns whether a handler took the message.
    /// </summary>
    protected virtual bool AroundReceive(object message) => ReceiveMessage(message);

    /// <summary>Dispatches to the declared handlers; calls <see cref="Unhandled"/> when none matches.</summary>
    protected bool ReceiveMessage(object message)
    {
        var handlers = _handlers;
        for (var i = 0; i < handlers.Count; i++)
        {
            if (handlers[i].TryHandle(message))
            {
                return true;
            }
        }

        Unhandled(message);
        return false;
    }

    private abstract class Handler
    {
        public abstract bool TryHandle(object message);
    }

    private sealed class Handler<T>(Action<T> handler, Predicate<T>? shouldHandle) : Handler
    {
        public override bool TryHandle(object message)
        {
            if (message is T typed && (shouldHandle is null || shouldHandle(typed)))
            {
                handler(typed);
                return true;
            }

            return false;
        }
    }
}
