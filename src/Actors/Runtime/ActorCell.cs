namespace BgFetchCluster.Actors.Runtime;

/// <summary>
/// The runtime half of an actor: its reference, mailbox, children, watchers and lifecycle, in the
/// manner of Akka's <c>ActorCell</c>. The cell is also the actor's <see cref="IActorRef"/> and its
/// thread-pool work item, so an idle actor is a handful of small objects and no thread or task.
/// </summary>
/// <remarks>
/// Lifecycle (every change goes through the system-message handlers on the mailbox's thread):
/// <code>
///   Normal ──failure──▶ Suspended ──Resume──▶ Normal
///                         │ Recreate
///                         ▼
///                    Restarting (children stopping) ──all gone──▶ Normal (fresh instance)
///   Normal/Suspended ──Terminate──▶ Terminating (children stopping) ──all gone──▶ Terminated
/// </code>
/// Fields without a note are touched only by the mailbox's consumer (one thread at a time).
/// </remarks>
internal sealed partial class ActorCell : InternalActorRef, IActorContext
{
    private const int StateNormal = 0;
    private const int StateSuspended = 1;
    private const int StateRestarting = 2;
    private const int StateTerminating = 3;
    private const int StateTerminated = 4;

    [ThreadStatic]
    private static ActorCell? _current;

    [ThreadStatic]
    private static ActorCell? _creating;

    private readonly ActorSystem _system;
    private readonly Props _props;
    private readonly ActorCell? _parent;
    private readonly string _name;
    private string? _path;
    private ActorBase? _actor;

    /// <summary>Read by producers (to route to dead letters once terminated), written by the consumer.</summary>
    private int _state;

    private object? _currentMessage;
    private IActorRef? _sender;

    public ActorCell(ActorSystem system, Props props, ActorCell? parent, string name)
    {
        _system = system;
        _props = props;
        _parent = parent;
        _name = name;
    }

    /// <summary>The cell whose message is being handled on this thread, if any.</summary>
    internal static ActorCell? Current => _current;

    /// <summary>The cell whose actor instance is being constructed on this thread, if any.</summary>
    internal static ActorCell? Creating => _creating;

    public override string Path => _path ??= _parent is null ? "/" + _name : _parent.Path + "/" + _name;

    public string Name => _name;

    public IActorRef Self => this;

    public IActorRef Sender => _sender ?? _system.DeadLetters;

    /// <summary>The raw sender; persistent actors restore a command's sender when its events are durable.</summary>
    internal IActorRef? SenderOrNull
    {
        get => _sender;
        set => _sender = value;
    }

    public IActorRef Parent => (IActorRef?)_parent ?? ActorRefs.Nobody;

    public ActorSystem System => _system;

    internal bool IsTerminated => Volatile.Read(ref _state) == StateTerminated;

    /// <summary>The message being handled, for <c>Stash</c> and <c>PreRestart</c>.</summary>
    internal object? CurrentMessage => _currentMessage;

    public override void Tell(object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Volatile.Read(ref _state) == StateTerminated)
        {
            _system.PublishDeadLetter(new DeadLetter(message, sender, this, Unhandled: false));
            return;
        }

        _queue.Enqueue(message, sender);

        // Actor-to-actor messages stay on this thread's local queue; Tells from outside (a request
        // handler, a timer, a task's continuation) go to the global queue.
        TrySchedule(preferLocal: _current is not null);
    }

    /// <summary>Queues a user message of a child not yet started; its Create schedules the mailbox.</summary>
    internal void EnqueueWithoutScheduling(object message, IActorRef? sender) => _queue.Enqueue(message, sender);

    internal override void SendSystemMessage(SystemMessage message)
    {
        PushSystemMessage(message);
        if (Volatile.Read(ref _state) == StateTerminated)
        {
            // Nobody will run this mailbox again: answer what needs an answer (a Watch) right here.
            ProcessSystemMessages();
            return;
        }

        TrySchedule(preferLocal: false);
    }

    public void Stop(IActorRef actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (actor is InternalActorRef target)
        {
            target.SendSystemMessage(new Terminate());
        }
    }
}
