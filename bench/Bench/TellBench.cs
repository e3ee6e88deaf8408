using System.Threading.Channels;
using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Bench;

/// <summary>
/// Tell throughput: pairs of actors bouncing one message, next to pairs of tasks bouncing one message
/// over two unbounded single-reader channels. Every delivered message counts (a round trip is two).
/// </summary>
internal static class TellBench
{
    private static readonly object Ball = new();

    public static async Task<Row> RunAsync(BenchSettings settings, int pairs, int roundTripsPerPair)
    {
        var messages = 2L * pairs * roundTripsPerPair;
        var system = ActorSystem.Create("bench-tell");
        try
        {
            var kernel = await Measure.RateAsync(settings, () => KernelAsync(system, pairs, roundTripsPerPair, messages));
            var channels = await Measure.RateAsync(settings, () => ChannelsAsync(pairs, roundTripsPerPair, messages));
            var ratio = kernel.Median / channels.Median;
            return new Row(
                "tell",
                $"ping-pong, {pairs} pair{(pairs == 1 ? "" : "s")}, {Report.Number(messages)} msgs",
                "msgs/s",
                kernel,
                "Channels ping-pong",
                channels,
                "ratio >= 0.5",
                ratio >= 0.5);
        }
        finally
        {
            await system.TerminateAsync();
        }
    }

    private static async Task<(long, TimeSpan)> KernelAsync(ActorSystem system, int pairs, int roundTrips, long messages)
    {
        var done = new Task[pairs];
        var pingers = new IActorRef[pairs];
        var pongers = new IActorRef[pairs];
        for (var i = 0; i < pairs; i++)
        {
            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var ponger = system.ActorOf(Props.Create(static () => new Ponger()));
            pingers[i] = system.ActorOf(Props.Create(() => new Pinger(ponger, roundTrips, completion)));
            pongers[i] = ponger;
            done[i] = completion.Task;
        }

        var elapsed = await Measure.TimeAsync(() =>
        {
            for (var i = 0; i < pairs; i++)
            {
                pongers[i].Tell(Ball, pingers[i]);
            }

            return Task.WhenAll(done);
        });

        for (var i = 0; i < pairs; i++)
        {
            system.Stop(pingers[i]);
            system.Stop(pongers[i]);
        }

        return (messages, elapsed);
    }

    private static async Task<(long, TimeSpan)> ChannelsAsync(int pairs, int roundTrips, long messages)
    {
        var options = new UnboundedChannelOptions { SingleReader = true, SingleWriter = true };
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = new List<Task>(2 * pairs);
        for (var i = 0; i < pairs; i++)
        {
            var ping = Channel.CreateUnbounded<object>(options);
            var pong = Channel.CreateUnbounded<object>(options);
            tasks.Add(Task.Run(async () =>
            {
                await start.Task;
                for (var n = 0; n < roundTrips; n++)
                {
                    ping.Writer.TryWrite(Ball);
                    await pong.Reader.ReadAsync();
                }
            }));
            tasks.Add(Task.Run(async () =>
            {
                for (var n = 0; n < roundTrips; n++)
                {
                    var ball = await ping.Reader.ReadAsync();
                    pong.Writer.TryWrite(ball);
                }
            }));
        }

        // Let every task reach its first await before the clock starts, as the actors are created untimed.
        await Task.Delay(50);
        var elapsed = await Measure.TimeAsync(() =>
        {
            start.SetResult();
            return Task.WhenAll(tasks);
        });
        return (messages, elapsed);
    }

    private sealed class Ponger : ActorBase
    {
        public Ponger() => ReceiveAny(message => Sender.Tell(message, Self));
    }

    private sealed class Pinger : ActorBase
    {
        private int _remaining;

        public Pinger(IActorRef ponger, int roundTrips, TaskCompletionSource completion)
        {
            _remaining = roundTrips;
            ReceiveAny(message =>
            {
                if (--_remaining == 0)
                {
                    completion.TrySetResult();
                }
                else
                {
                    ponger.Tell(message, Self);
                }
            });
        }
    }
}
