using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.TestKit;

namespace BgFetchCluster.Actors.Tests.Runtime;

public sealed class MessagingTests : ActorTestKit
{
    [Fact]
    public async Task Tell_ManyMessagesFromOneSender_ArriveInOrder()
    {
        var probe = CreateTestProbe();
        var echo = Sys.ActorOf(Props.Create(() => new EchoActor()), "echo");

        for (var i = 0; i < 1000; i++)
        {
            echo.Tell(i, probe);
        }

        for (var i = 0; i < 1000; i++)
        {
            await probe.ExpectMsgAsync(i);
        }
    }

    [Fact]
    public async Task Ask_ActorReplies_ReturnsTheReply()
    {
        var echo = Sys.ActorOf(Props.Create(() => new EchoActor()));

        var reply = await echo.Ask<string>("hello");

        Assert.Equal("hello", reply);
    }

    [Fact]
    public async Task Ask_NoReply_ThrowsAskTimeoutThatNamesTheTarget()
    {
        var silent = Sys.ActorOf(Props.Create(() => new CounterActor()), "silent");

        var exception = await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<int>("inc", TimeSpan.FromMilliseconds(100)));

        Assert.Contains("/user/silent", exception.Message, StringComparison.Ordinal);
        Assert.Contains("String", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_StatusFailureReply_ThrowsItsCause()
    {
        var echo = Sys.ActorOf(Props.Create(() => new EchoActor()));

        var exception = await Assert.ThrowsAsync<FormatException>(() => echo.Ask<int>(new Status.Failure(new FormatException("no"))));

        Assert.Equal("no", exception.Message);
    }

    [Fact]
    public async Task Ask_ReplyOfAnotherType_ThrowsInvalidCastNamingBothTypes()
    {
        var echo = Sys.ActorOf(Props.Create(() => new EchoActor()));

        var exception = await Assert.ThrowsAsync<InvalidCastException>(() => echo.Ask<int>("text"));

        Assert.Contains("Int32", exception.Message, StringComparison.Ordinal);
        Assert.Contains("String", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PipeTo_CompletedTask_DeliversResultAndFailure()
    {
        var probe = CreateTestProbe();

        await Task.FromResult(42).PipeTo(probe);
        await Task.FromException<int>(new IOException("disk")).PipeTo(probe);

        await probe.ExpectMsgAsync(42);
        var failure = await probe.ExpectMsgAsync<Status.Failure>();
        Assert.IsType<IOException>(failure.Cause);
    }

    [Fact]
    public async Task Tell_ToStoppedActor_GoesToDeadLetters()
    {
        var probe = CreateTestProbe();
        var counter = Sys.ActorOf(Props.Create(() => new CounterActor()));
        probe.Watch(counter);
        Sys.Stop(counter);
        await probe.ExpectMsgAsync<Terminated>();
        var before = Sys.DeadLetterCount;

        counter.Tell("inc", probe);

        Assert.Equal(before + 1, Sys.DeadLetterCount);
    }

    [Fact]
    public async Task ActorOf_DuplicateChildName_Throws()
    {
        Sys.ActorOf(Props.Create(() => new EchoActor()), "same");

        var exception = Assert.Throws<InvalidOperationException>(() => Sys.ActorOf(Props.Create(() => new EchoActor()), "same"));

        Assert.Contains("same", exception.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public void Constructor_CalledWithNew_Throws()
    {
        var exception = Assert.Throws<InvalidOperationException>(() => new EchoActor());

        Assert.Contains("ActorOf", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_ActorWithQueuedMessages_StopsBeforeDrainingTheRestToDeadLetters()
    {
        var probe = CreateTestProbe();
        var gate = new ManualResetEventSlim();
        var blocker = Sys.ActorOf(Props.Create(() => new BlockingActor(gate)));
        probe.Watch(blocker);
        blocker.Tell("block", probe);
        for (var i = 0; i < 10_000; i++)
        {
            blocker.Tell(i, probe);
        }

        // The stop is a system message: it overtakes the 10,000 user messages still queued.
        Sys.Stop(blocker);
        gate.Set();
        await probe.ExpectMsgAsync<Terminated>();

        Assert.True(BlockingActor.Handled < 10_000, $"handled {BlockingActor.Handled} user messages after the stop");
        await AwaitConditionAsync(() => Sys.DeadLetterCount >= 10_000 - BlockingActor.Handled, "the queued messages to go to dead letters");
    }

    private sealed class BlockingActor : ActorBase
    {
        public static int Handled;

        public BlockingActor(ManualResetEventSlim gate)
        {
            Receive<string>(_ => gate.Wait(TimeSpan.FromSeconds(10)));
            Receive<int>(_ => Interlocked.Increment(ref Handled));
        }
    }
}
