using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Runtime;

public sealed class TimerTests : ActorTestKit
{
    private readonly ManualTimeProvider _clock;

    public TimerTests()
        : this(new ManualTimeProvider())
    {
    }

    private TimerTests(ManualTimeProvider clock)
        : base(new ActorSystemOptions { TimeProvider = clock })
    {
        _clock = clock;
    }

    [Fact]
    public async Task StartSingleTimer_FiresOnceWhenDue()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Props.Create(() => new TimerActor(probe)));
        actor.Tell(new StartSingle("tick", TimeSpan.FromSeconds(5)));
        await AwaitConditionAsync(() => _clock.PendingTimers == 1, "the timer to be started");

        _clock.Advance(TimeSpan.FromSeconds(4));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        _clock.Advance(TimeSpan.FromSeconds(1));

        await probe.ExpectMsgAsync("tick");
        _clock.Advance(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task StartPeriodicTimer_FiresEveryInterval_UntilCancelled()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Props.Create(() => new TimerActor(probe)));
        actor.Tell(new StartPeriodic("beat", TimeSpan.FromSeconds(1)));
        await AwaitConditionAsync(() => _clock.PendingTimers == 1, "the timer to be started");

        _clock.Advance(TimeSpan.FromSeconds(3));
        await probe.ExpectMsgAsync("beat");
        await probe.ExpectMsgAsync("beat");
        await probe.ExpectMsgAsync("beat");

        actor.Tell("cancel");
        await probe.ExpectMsgAsync("cancelled");
        _clock.Advance(TimeSpan.FromSeconds(3));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Cancel_AfterTheTimerFiredButBeforeDelivery_DropsTheMessage()
    {
        var probe = CreateTestProbe();
        var gate = new ManualResetEventSlim();
        var actor = Sys.ActorOf(Props.Create(() => new TimerActor(probe, gate)));
        actor.Tell(new StartSingle("late", TimeSpan.FromSeconds(1)));
        await AwaitConditionAsync(() => _clock.PendingTimers == 1, "the timer to be started");

        // While the actor is busy, queue the cancel first; the timer then fires behind it.
        actor.Tell("block");
        actor.Tell("cancel");
        _clock.Advance(TimeSpan.FromSeconds(1));
        gate.Set();

        await probe.ExpectMsgAsync("cancelled");
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task ReceiveTimeout_NoMessageForTheTimeout_DeliversReceiveTimeout()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Props.Create(() => new TimerActor(probe)));
        actor.Tell(new IdleAfter(TimeSpan.FromSeconds(30)));
        await AwaitConditionAsync(() => _clock.PendingTimers == 1, "the receive timeout to be armed");

        _clock.Advance(TimeSpan.FromSeconds(20));
        actor.Tell("ping");
        await probe.ExpectMsgAsync("pong");
        _clock.Advance(TimeSpan.FromSeconds(20));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        _clock.Advance(TimeSpan.FromSeconds(10));

        await probe.ExpectMsgAsync<ReceiveTimeout>();
    }

    private sealed record StartSingle(string Message, TimeSpan Delay);

    private sealed record StartPeriodic(string Message, TimeSpan Interval);

    private sealed record IdleAfter(TimeSpan Timeout);

    private sealed class TimerActor : ActorBase
    {
        public TimerActor(IActorRef probe, ManualResetEventSlim? gate = null)
        {
            Receive<StartSingle>(start => Timers.StartSingleTimer("key", start.Message, start.Delay));
            Receive<StartPeriodic>(start => Timers.StartPeriodicTimer("key", start.Message, start.Interval));
            Receive<IdleAfter>(idle => Context.SetReceiveTimeout(idle.Timeout));
            Receive<ReceiveTimeout>(timeout => probe.Tell(timeout, Self));
            Receive<string>(_ => gate?.Wait(TimeSpan.FromSeconds(10)), s => s == "block");
            Receive<string>(_ =>
            {
                Timers.Cancel("key");
                probe.Tell("cancelled", Self);
            }, s => s == "cancel");
            Receive<string>(_ => probe.Tell("pong", Self), s => s == "ping");
            Receive<string>(message => probe.Tell(message, Self));
        }
    }
}
