using System.Diagnostics;
using System.Threading.Channels;
using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Bench;

/// <summary>
/// What an idle actor costs: managed bytes (GC.GetTotalMemory before and after, fully collected) and
/// the whole process's working set while the population is alive (a growth figure is meaningless:
/// the GC decommits the previous iteration's heap in between), next to the bare equivalent of an idle actor: a task parked on an empty
/// unbounded channel.
/// </summary>
internal static class MemoryBench
{
    public static async Task<IReadOnlyList<Row>> RunAsync(BenchSettings settings, int actors)
    {
        var kernelBytes = new List<double>();
        var kernelWorkingSet = new List<double>();
        var peerBytes = new List<double>();
        var peerWorkingSet = new List<double>();

        // Fewer iterations: each one builds and tears down a large population.
        var iterations = settings.Quick ? 1 : 3;
        await KernelAsync(actors / 10);
        await ChannelsAsync(actors / 10);
        for (var i = 0; i < iterations; i++)
        {
            var (bytes, workingSet) = await KernelAsync(actors);
            kernelBytes.Add(bytes);
            kernelWorkingSet.Add(workingSet);
            (bytes, workingSet) = await ChannelsAsync(actors);
            peerBytes.Add(bytes);
            peerWorkingSet.Add(workingSet);
        }

        var perActor = Sample.Of(kernelBytes);
        return
        [
            new Row("memory", $"{Report.Number(actors)} idle actors, managed heap", "bytes/actor", perActor, "idle task on a Channel", Sample.Of(peerBytes),
                "a few hundred bytes", perActor.Median < 1000),
            new Row("memory", $"process working set with {Report.Number(actors)} idle actors alive", "MiB", Sample.Of(kernelWorkingSet), "idle task on a Channel", Sample.Of(peerWorkingSet)),
        ];
    }

    private static async Task<(double Bytes, double WorkingSet)> KernelAsync(int count)
    {
        var (heapBefore, _) = Snapshot();
        var system = ActorSystem.Create("bench-memory");
        var started = new Countdown(count);
        for (var i = 0; i < count; i++)
        {
            system.ActorOf(Props.Create(() => new Idle(started)));
        }

        // Every actor has run PreStart: its Create message is handled and its mailbox is idle again.
        await started.Task;
        var (heapAfter, setAfter) = Snapshot();
        GC.KeepAlive(system);
        await system.TerminateAsync();
        return ((heapAfter - heapBefore) / (double)count, setAfter / 1048576.0);
    }

    private static async Task<(double Bytes, double WorkingSet)> ChannelsAsync(int count)
    {
        var (heapBefore, _) = Snapshot();
        var channels = new Channel<object>[count];
        var tasks = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
            channels[i] = channel;
            tasks[i] = DrainAsync(channel.Reader);
        }

        var (heapAfter, setAfter) = Snapshot();
        foreach (var channel in channels)
        {
            channel.Writer.Complete();
        }

        await Task.WhenAll(tasks);
        return ((heapAfter - heapBefore) / (double)count, setAfter / 1048576.0);
    }

    private static async Task DrainAsync(ChannelReader<object> reader)
    {
        await foreach (var message in reader.ReadAllAsync())
        {
            GC.KeepAlive(message);
        }
    }

    private static (long Heap, long WorkingSet) Snapshot()
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return (heap, process.WorkingSet64);
    }

    private sealed class Countdown(int count)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = count;

        public Task Task => _done.Task;

        public void Signal()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.TrySetResult();
            }
        }
    }

    private sealed class Idle : ActorBase
    {
        private readonly Countdown _started;

        public Idle(Countdown started)
        {
            _started = started;
            Receive<string>(_ => { });
        }

        protected override void PreStart() => _started.Signal();
    }
}
