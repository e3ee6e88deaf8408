using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Runtime;

public sealed class LifecycleTests : ActorTestKit
{
    [Fact]
    public async Task Watch_ActorStops_WatcherReceivesTerminated()
    {
        var probe = CreateTestProbe();
        var counter = Sys.ActorOf(Props.Create(() => new CounterActor()));
        probe.Watch(counter);

        counter.Tell(PoisonPill.Instance);

        Assert.Same(counter, (await probe.ExpectMsgAsync<Terminated>()).ActorRef);
    }

    [Fact]
    public async Task Watch_AlreadyStoppedActor_TerminatedArrivesAtOnce()
    {
        var probe = CreateTestProbe();
        var counter = Sys.ActorOf(Props.Create(() => new CounterActor()));
        probe.Watch(counter);
        Sys.Stop(counter);
        await probe.ExpectMsgAsync<Terminated>();

        var late = CreateTestProbe();
        late.Watch(counter);

        await late.ExpectMsgAsync<Terminated>();
    }

    [Fact]
    public async Task Watch_FromAnActor_DeliversTerminatedToItsHandler_AndUnwatchWithdrawsIt()
    {
        var probe = CreateTestProbe();
        var watched = Sys.ActorOf(Props.Create(() => new CounterActor()));
        var unwatched = Sys.ActorOf(Props.Create(() => new CounterActor()));
        Sys.ActorOf(Props.Create(() => new WatchingActor(watched, unwatched, probe)));
        await probe.ExpectMsgAsync("watching");

        Sys.Stop(unwatched);
        Sys.Stop(watched);

        var terminated = await probe.ExpectMsgAsync<Terminated>();
        Assert.Same(watched, terminated.ActorRef);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task PoisonPill_ProcessesEarlierMessagesFirst()
    {
        var counter = Sys.ActorOf(Props.Create(() => new CounterActor()));
        var probe = CreateTestProbe();
        probe.Watch(counter);

        counter.Tell("inc");
        counter.Tell("get", probe);
        counter.Tell(PoisonPill.Instance);
        counter.Tell("get", probe);

        await probe.ExpectMsgAsync(1);
        await probe.ExpectMsgAsync<Terminated>();
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task TerminateAsync_StopsChildrenBeforeParents()
    {
        var probe = CreateTestProbe();
        var lifecycle = CreateTestProbe();
        var parent = Sys.ActorOf(Props.Create(() => new ParentActor(null, lifecycle)), "top");
        await lifecycle.ExpectMsgAsync("started:/user/top");
        probe.Send(parent, new ParentActor.CreateChild(Props.Create(() => new ParentActor(null, lifecycle)), "middle"));
        var middle = await probe.ExpectMsgAsync<IActorRef>();
        await lifecycle.ExpectMsgAsync("started:/user/top/middle");
        probe.Send(middle, new ParentActor.CreateChild(Props.Create(() => new CounterActor(lifecycle)), "leaf"));
        await probe.ExpectMsgAsync<IActorRef>();
        await lifecycle.ExpectMsgAsync("started:/user/top/middle/leaf");

        await Sys.TerminateAsync();

        await lifecycle.ExpectMsgAsync("stopped:/user/top/middle/leaf");
        await lifecycle.ExpectMsgAsync("stopped:/user/top/middle");
        await lifecycle.ExpectMsgAsync("stopped:/user/top");
        Assert.True(Sys.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task Stash_UnstashAll_ReplaysInOriginalOrderAheadOfNewMessages()
    {
        var probe = CreateTestProbe();
        var gate = Sys.ActorOf(Props.Create(() => new GateActor()));

        gate.Tell(1, probe);
        gate.Tell(2, probe);
        gate.Tell("open", probe);
        gate.Tell(3, probe);

        await probe.ExpectMsgAsync(1);
        await probe.ExpectMsgAsync(2);
        await probe.ExpectMsgAsync(3);
    }

    [Fact]
    public async Task Stash_SurvivesRestart()
    {
        var probe = CreateTestProbe();
        var gate = Sys.ActorOf(Props.Create(() => new GateActor()));

        gate.Tell(1, probe);
        gate.Tell("crash", probe);
        gate.Tell("open", probe);

        await probe.ExpectMsgAsync(1);
    }

    [Fact]
    public async Task OneHundredThousandIdleActors_FitWellUnder200MiB()
    {
        const int count = 100_000;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var actors = new IActorRef[count];
        for (var i = 0; i < count; i++)
        {
            actors[i] = Sys.ActorOf(Props.Create(() => new CounterActor()));
        }

        Assert.Equal(0, await actors[^1].Ask<int>("get"));
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var perActor = (after - before) / count;

        Assert.True(after - before < 100L * 1024 * 1024, $"{count} idle actors took {(after - before) / (1024 * 1024)} MiB ({perActor} bytes each)");
        GC.KeepAlive(actors);
    }

    private sealed class WatchingActor : ActorBase
    {
        public WatchingActor(IActorRef watched, IActorRef unwatched, IActorRef probe)
        {
            Context.Watch(watched);
            Context.Watch(unwatched);
            Context.Unwatch(unwatched);
            Receive<Terminated>(terminated => probe.Tell(terminated, Self));
            probe.Tell("watching", Self);
        }
    }

    /// <summary>Stashes numbers until "open", then echoes them.</summary>
    private sealed class GateActor : ActorBase
    {
        public GateActor()
        {
            Receive<int>(_ => Stash.Stash());
            Receive<string>(_ => throw new InvalidOperationException("crash"), s => s == "crash");
            Receive<string>(_ =>
            {
                Become(() => Receive<int>(n => Sender.Tell(n, Self)));
                Stash.UnstashAll();
            });
        }
    }
}
