using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Runtime;

public sealed class SupervisionTests : ActorTestKit
{
    private async Task<IActorRef> ChildOf(IActorRef parent, Props props, string name, TestProbe probe)
    {
        probe.Send(parent, new ParentActor.CreateChild(props, name));
        return await probe.ExpectMsgAsync<IActorRef>();
    }

    [Fact]
    public async Task Restart_ChildThrows_StateIsRebuiltAndSiblingUntouched()
    {
        var probe = CreateTestProbe();
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor()), "parent");
        var failing = await ChildOf(parent, Props.Create(() => new CounterActor()), "failing", probe);
        var sibling = await ChildOf(parent, Props.Create(() => new CounterActor()), "sibling", probe);
        failing.Tell("inc");
        failing.Tell("inc");
        sibling.Tell("inc");

        failing.Tell("crash");

        Assert.Equal(0, await failing.Ask<int>("get"));
        Assert.Equal(1, await sibling.Ask<int>("get"));
    }

    [Fact]
    public async Task Restart_MessagesAfterTheFailure_AreKept()
    {
        var counter = Sys.ActorOf(Props.Create(() => new CounterActor()));

        counter.Tell("crash");
        counter.Tell("inc");
        counter.Tell("inc");

        Assert.Equal(2, await counter.Ask<int>("get"));
    }

    [Fact]
    public async Task Resume_Directive_KeepsState()
    {
        var probe = CreateTestProbe();
        var strategy = new SupervisorStrategy(_ => Directive.Resume);
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(strategy)));
        var child = await ChildOf(parent, Props.Create(() => new CounterActor()), "child", probe);
        child.Tell("inc");

        child.Tell("crash");
        child.Tell("inc");

        Assert.Equal(2, await child.Ask<int>("get"));
    }

    [Fact]
    public async Task Stop_Directive_StopsOnlyTheFailedChild()
    {
        var probe = CreateTestProbe();
        var strategy = new SupervisorStrategy(_ => Directive.Stop);
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(strategy)));
        var child = await ChildOf(parent, Props.Create(() => new CounterActor()), "child", probe);
        var sibling = await ChildOf(parent, Props.Create(() => new CounterActor()), "sibling", probe);
        probe.Watch(child);

        child.Tell("crash");

        var terminated = await probe.ExpectMsgAsync<Terminated>();
        Assert.Same(child, terminated.ActorRef);
        Assert.Equal(0, await sibling.Ask<int>("get"));
    }

    [Fact]
    public async Task Decider_ChoosesByExceptionType()
    {
        var probe = CreateTestProbe();
        var strategy = new SupervisorStrategy(e => e is ArgumentException ? Directive.Resume : Directive.Restart);
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(strategy)));
        var child = await ChildOf(parent, Props.Create(() => new CounterActor()), "child", probe);
        child.Tell("inc");

        child.Tell("argument");
        Assert.Equal(1, await child.Ask<int>("get"));

        child.Tell("crash");
        Assert.Equal(0, await child.Ask<int>("get"));
    }

    [Fact]
    public async Task Escalate_Directive_RestartsTheParentAndStopsItsChildren()
    {
        var probe = CreateTestProbe();
        var lifecycle = CreateTestProbe();
        var strategy = new SupervisorStrategy(_ => Directive.Escalate);
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(strategy, lifecycle)), "escalating");
        await lifecycle.ExpectMsgAsync("started:/user/escalating");
        var child = await ChildOf(parent, Props.Create(() => new CounterActor(lifecycle)), "child", probe);
        await lifecycle.ExpectMsgAsync("started:/user/escalating/child");

        child.Tell("crash");

        // The grandparent's default strategy restarts the parent: its PreRestart stops the child and
        // runs PostStop (in either order, as in Akka); the fresh instance starts once the child is gone.
        var stopped = await lifecycle.ReceiveNAsync<string>(2);
        Assert.Equal(["stopped:/user/escalating", "stopped:/user/escalating/child"], stopped.Order(StringComparer.Ordinal));
        await lifecycle.ExpectMsgAsync("started:/user/escalating");
    }

    [Fact]
    public async Task Restart_BeyondMaxRetries_StopsTheChild()
    {
        var probe = CreateTestProbe();
        var strategy = new SupervisorStrategy(_ => Directive.Restart, maxRetries: 2, window: TimeSpan.FromMinutes(1));
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(strategy)));
        var child = await ChildOf(parent, Props.Create(() => new CounterActor()), "child", probe);
        probe.Watch(child);

        child.Tell("crash");
        child.Tell("crash");
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        child.Tell("crash");

        await probe.ExpectMsgAsync<Terminated>();
    }

    [Fact]
    public async Task PreStartThrows_ActorIsStopped()
    {
        var probe = CreateTestProbe();
        var broken = Sys.ActorOf(Props.Create(() => new BrokenStartActor()));
        probe.Watch(broken);

        await probe.ExpectMsgAsync<Terminated>();
    }

    private sealed class BrokenStartActor : ActorBase
    {
        protected override void PreStart() => throw new InvalidOperationException("cannot start");
    }
}

public sealed class BackoffSupervisionTests : ActorTestKit
{
    private readonly ManualTimeProvider _clock;

    public BackoffSupervisionTests()
        : this(new ManualTimeProvider())
    {
    }

    private BackoffSupervisionTests(ManualTimeProvider clock)
        : base(new ActorSystemOptions { TimeProvider = clock })
    {
        _clock = clock;
    }

    [Fact]
    public async Task Restart_WithBackoff_WaitsForTheDelayThatDoublesEachTime()
    {
        var probe = CreateTestProbe();
        var lifecycle = CreateTestProbe();
        var strategy = new SupervisorStrategy(
            _ => Directive.Restart,
            maxRetries: -1,
            minBackoff: TimeSpan.FromSeconds(1),
            maxBackoff: TimeSpan.FromSeconds(30));
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(strategy)));
        probe.Send(parent, new ParentActor.CreateChild(Props.Create(() => new CounterActor(lifecycle)), "child"));
        var child = await probe.ExpectMsgAsync<IActorRef>();
        await lifecycle.ExpectMsgAsync("started:" + child.Path);

        child.Tell("inc");
        child.Tell("crash");
        child.Tell("get", probe);
        await AwaitConditionAsync(() => _clock.PendingTimers > 0, "the first restart to be scheduled");
        _clock.Advance(TimeSpan.FromMilliseconds(900));
        await lifecycle.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        await lifecycle.ExpectMsgAsync("stopped:" + child.Path);
        await lifecycle.ExpectMsgAsync("started:" + child.Path);
        await probe.ExpectMsgAsync(0);

        child.Tell("crash");
        await AwaitConditionAsync(() => _clock.PendingTimers > 0, "the second restart to be scheduled");
        _clock.Advance(TimeSpan.FromMilliseconds(1500));
        await lifecycle.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        await lifecycle.ExpectMsgAsync("stopped:" + child.Path);
        await lifecycle.ExpectMsgAsync("started:" + child.Path);
    }

    [Fact]
    public void BackoffFor_DoublesAndCaps()
    {
        var strategy = new SupervisorStrategy(_ => Directive.Restart, minBackoff: TimeSpan.FromSeconds(1), maxBackoff: TimeSpan.FromSeconds(5));

        Assert.Equal(
            new[] { 1.0, 2, 4, 5, 5 },
            Enumerable.Range(1, 5).Select(n => strategy.BackoffFor(n).TotalSeconds));
    }
}
