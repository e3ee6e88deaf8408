using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Tests.Runtime;

/// <summary>Replies to every message with the same message.</summary>
internal sealed class EchoActor : ActorBase
{
    public EchoActor() => ReceiveAny(message => Sender.Tell(message, Self));
}

/// <summary>Counts "inc" messages, answers "get" with the count, and throws on "crash".</summary>
internal sealed class CounterActor : ActorBase
{
    private int _count;

    public CounterActor(IActorRef? lifecycleProbe = null)
    {
        Receive<string>(_ => _count++, message => message == "inc");
        Receive<string>(_ => Sender.Tell(_count, Self), message => message == "get");
        Receive<string>(_ => throw new InvalidOperationException("crash requested"), message => message == "crash");
        Receive<string>(_ => throw new ArgumentException("bad argument"), message => message == "argument");
        LifecycleProbe = lifecycleProbe;
    }

    private IActorRef? LifecycleProbe { get; }

    protected override void PreStart() => LifecycleProbe?.Tell("started:" + Self.Path, Self);

    protected override void PostStop() => LifecycleProbe?.Tell("stopped:" + Self.Path, Self);
}

/// <summary>Creates the children it is told to and forwards messages to them.</summary>
internal sealed class ParentActor : ActorBase
{
    private readonly SupervisorStrategy? _strategy;

    public ParentActor(SupervisorStrategy? strategy = null, IActorRef? lifecycleProbe = null)
    {
        _strategy = strategy;
        Receive<CreateChild>(create => Sender.Tell(Context.ActorOf(create.Props, create.Name), Self));
        Receive<string>(_ => throw new InvalidOperationException("parent crash"), message => message == "crash");
        LifecycleProbe = lifecycleProbe;
    }

    private IActorRef? LifecycleProbe { get; }

    protected override SupervisorStrategy SupervisorStrategy() => _strategy ?? base.SupervisorStrategy();

    protected override void PreStart() => LifecycleProbe?.Tell("started:" + Self.Path, Self);

    protected override void PostStop() => LifecycleProbe?.Tell("stopped:" + Self.Path, Self);

    public sealed record CreateChild(Props Props, string Name);
}
