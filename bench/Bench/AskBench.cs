using System.Threading.Channels;
using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Bench;

/// <summary>
/// Ask round trips: callers awaiting replies from one echo actor, next to callers awaiting a
/// TaskCompletionSource that one server task completes after reading the request from a channel.
/// </summary>
internal static class AskBench
{
    private static readonly object Request = new();

    public static async Task<Row> RunAsync(BenchSettings settings, int callers, int asksPerCaller)
    {
        var total = (long)callers * asksPerCaller;
        var system = ActorSystem.Create("bench-ask");
        try
        {
            var echo = system.ActorOf(Props.Create(static () => new Echo()));
            var kernel = await Measure.RateAsync(settings, () => KernelAsync(echo, callers, asksPerCaller, total));
            var peer = await Measure.RateAsync(settings, () => ChannelAsync(callers, asksPerCaller, total));
            return new Row(
                "ask",
                $"sequential asks, {callers} caller{(callers == 1 ? "" : "s")}, {Report.Number(total)} asks",
                "asks/s",
                kernel,
                "TCS over Channel",
                peer);
        }
        finally
        {
            await system.TerminateAsync();
        }
    }

    private static async Task<(long, TimeSpan)> KernelAsync(IActorRef echo, int callers, int asks, long total)
    {
        var elapsed = await Measure.TimeAsync(() => Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < asks; i++)
            {
                await echo.Ask<object>(Request);
            }
        }))));
        return (total, elapsed);
    }

    private static async Task<(long, TimeSpan)> ChannelAsync(int callers, int asks, long total)
    {
        var requests = Channel.CreateUnbounded<(object Request, TaskCompletionSource<object> Reply)>(
            new UnboundedChannelOptions { SingleReader = true });
        var server = Task.Run(async () =>
        {
            await foreach (var (request, reply) in requests.Reader.ReadAllAsync())
            {
                reply.TrySetResult(request);
            }
        });

        var elapsed = await Measure.TimeAsync(() => Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < asks; i++)
            {
                // The same promise shape Ask uses: asynchronous continuations, one per request.
                var reply = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
                requests.Writer.TryWrite((Request, reply));
                await reply.Task;
            }
        }))));

        requests.Writer.Complete();
        await server;
        return (total, elapsed);
    }

    private sealed class Echo : ActorBase
    {
        public Echo() => ReceiveAny(message => Sender.Tell(message, Self));
    }
}
