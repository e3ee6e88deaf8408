using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;

namespace BgFetchCluster.Bench;

/// <summary>
/// Issue 17, cut 6: what creating a persistent actor costs with each way of writing it, in one process, alternating.
/// Props from an expression (<c>Props.Create(() =&gt; new T(a, b))</c>) against a producer that calls the constructor
/// (as <c>DirectProducer</c> in src/Actors does), and a <see cref="ReceivePersistentActor"/> with 25 <c>Command&lt;T&gt;</c>
/// handlers (a predicate one first, as <c>RegistrationActor</c> had) against an <see cref="UntypedPersistentActor"/> with
/// the same 25 cases in a <c>switch</c>. Each round creates <c>count</c> actors under one parent, waits until every one
/// has recovered (Akka's in-memory journal, an empty history) and stops them; the figures are managed bytes allocated
/// (all threads) and process CPU per actor, medians over the rounds.
/// Usage: dotnet BgFetchCluster.Bench.dll --construction [--count N] [--rounds N]
/// </summary>
internal static class ConstructionBench
{
    public static async Task RunAsync(TextWriter report, int count, int rounds)
    {
        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """);
        using var system = ActorSystem.Create("construction", config);
        var variants = new (string Name, Func<string, Recovered, Props> Props)[]
        {
            ("expression props + ReceivePersistentActor (before)", static (id, r) => Props.Create(() => new ReceiveEntity(id, r))),
            ("producer props + ReceivePersistentActor", static (id, r) => Props.CreateBy(new Producer<ReceiveEntity>(() => new ReceiveEntity(id, r)))),
            ("expression props + UntypedPersistentActor", static (id, r) => Props.Create(() => new SwitchEntity(id, r))),
            ("producer props + UntypedPersistentActor (after)", static (id, r) => Props.CreateBy(new Producer<SwitchEntity>(() => new SwitchEntity(id, r)))),
        };

        var bytes = variants.Select(static _ => new List<double>()).ToArray();
        var cpu = variants.Select(static _ => new List<double>()).ToArray();
        var round = 0;
        for (var pass = -1; pass < rounds; pass++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                var (allocated, cpuTime) = await RoundAsync(system, variants[v].Props, count, $"r{round++}");
                if (pass >= 0)
                {
                    bytes[v].Add(allocated / (double)count);
                    cpu[v].Add(cpuTime.TotalMilliseconds * 1000 / count);
                }
            }
        }

        report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Creating {count:N0} persistent actors per round (recovery from an empty in-memory journal included), {rounds} rounds alternating after a warm-up; medians:"));
        report.WriteLine();
        report.WriteLine("| variant | bytes allocated per actor | CPU per actor (µs) |");
        report.WriteLine("|---|--:|--:|");
        for (var v = 0; v < variants.Length; v++)
        {
            report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {variants[v].Name} | {Median(bytes[v]):N0} | {Median(cpu[v]):N1} |"));
        }
    }

    private static async Task<(long Bytes, TimeSpan Cpu)> RoundAsync(ActorSystem system, Func<string, Recovered, Props> props, int count, string prefix)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var recovered = new Recovered(count);
        var parent = system.ActorOf(Props.Create(() => new Parent()), prefix);
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var cpu0 = Cpu.Process();
        for (var i = 0; i < count; i++)
        {
            parent.Tell(props(prefix + "-" + i.ToString(CultureInfo.InvariantCulture), recovered));
        }

        await recovered.All.WaitAsync(TimeSpan.FromMinutes(2));
        var cpu1 = Cpu.Process();
        var bytes1 = GC.GetTotalAllocatedBytes(precise: true);
        await parent.GracefulStop(TimeSpan.FromMinutes(1));
        return (bytes1 - bytes0, cpu1 - cpu0);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Counts recovered actors and completes when all have.</summary>
    internal sealed class Recovered(int count)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _left = count;

        public Task All => _all.Task;

        public void One()
        {
            if (Interlocked.Decrement(ref _left) == 0)
            {
                _all.SetResult();
            }
        }
    }

    /// <summary>Creates a child from every <see cref="Props"/> it is sent, as a shard creates its entities.</summary>
    private sealed class Parent : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is Props props)
            {
                Context.ActorOf(props);
            }
            else
            {
                Unhandled(message);
            }
        }
    }

    private sealed class Producer<TActor>(Func<TActor> create) : IIndirectActorProducer
        where TActor : ActorBase
    {
        // Akka reads the actor's type from here to pick its mailbox: a persistent actor's stash needs a deque.
        public Type ActorType => typeof(TActor);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
    }

    private sealed class ReceiveEntity : ReceivePersistentActor
    {
        private readonly string _id;
        private bool _resuming;

        public ReceiveEntity(string id, Recovered recovered)
        {
            _id = id;
            Recover<RecoveryCompleted>(_ => recovered.One());
            Recover<string>(_ => { });
            Command<Guid>(_ => _resuming = false);
            Command<object>(_ => Stash.Stash(), _ => _resuming);
            Command<byte>(_ => { });
            Command<sbyte>(_ => { });
            Command<short>(_ => { });
            Command<ushort>(_ => { });
            Command<int>(_ => { });
            Command<uint>(_ => { });
            Command<long>(_ => { });
            Command<ulong>(_ => { });
            Command<float>(_ => { });
            Command<double>(_ => { });
            Command<decimal>(_ => { });
            Command<char>(_ => { });
            Command<bool>(_ => { });
            Command<string>(_ => { });
            Command<DateTime>(_ => { });
            Command<DateTimeOffset>(_ => { });
            Command<TimeSpan>(_ => { });
            Command<Uri>(_ => { });
            Command<Version>(_ => { });
            Command<int[]>(_ => { });
            Command<long[]>(_ => { });
            Command<string[]>(_ => { });
            Command<byte[]>(_ => { });
        }

        public override string PersistenceId => _id;
    }

    private sealed class SwitchEntity(string id, Recovered recovered) : UntypedPersistentActor
    {
        private bool _resuming;

        public override string PersistenceId => id;

        protected override void OnRecover(object message)
        {
            switch (message)
            {
                case RecoveryCompleted:
                    recovered.One();
                    break;
                case string:
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }

        protected override void OnCommand(object message)
        {
            if (message is Guid)
            {
                _resuming = false;
                return;
            }

            if (_resuming)
            {
                Stash.Stash();
                return;
            }

            switch (message)
            {
                case byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal or char or bool:
                case string or DateTime or DateTimeOffset or TimeSpan or Uri or Version or int[] or long[] or string[] or byte[]:
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }
}
