using System.Globalization;
using System.Text;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Bench;

/// <summary>
/// Journal writes: W persistent actors each persisting N events one at a time (command, Persist,
/// durable reply, next command), through the BatchingJournal, next to the bare driver inserting the
/// same W × N rows in one transaction.
/// </summary>
internal static class JournalBench
{
    public static async Task<IReadOnlyList<Row>> RunAsync(
        BenchSettings settings,
        IJournalBackend backend,
        IReadOnlyList<(int Writers, int EventsPerWriter, double? Target)> scenarios,
        StringBuilder notes)
    {
        var rows = new List<Row>();
        var (journal, snapshots) = backend.CreateStores();
        var counting = new CountingJournal(journal);
        var serializer = new EventSerializer().Register(BenchJsonContext.Default.Written);
        var system = ActorSystem.Create("bench-journal");
        try
        {
            await PersistenceExtension.RegisterAsync(system, counting, snapshots, serializer);
            foreach (var (writers, events, target) in scenarios)
            {
                counting.Reset();
                var measuredEvents = 0L;
                var kernel = await Measure.RateAsync(settings, async () =>
                {
                    var result = await KernelAsync(system, writers, events);
                    measuredEvents += result.Item1;
                    return result;
                });
                var (batches, stored, inDatabase) = counting.Counters;
                var peer = await Measure.RateAsync(settings, () => RawAsync(backend, serializer, writers, events));
                rows.Add(new Row(
                    "journal",
                    $"{backend.Name}, {writers} writer{(writers == 1 ? "" : "s")} × {events} events",
                    "events/s",
                    kernel,
                    $"raw {backend.Name} driver, 1 tx",
                    peer,
                    target is { } t ? $">= {Report.Number(t)}" : "",
                    target is { } goal ? kernel.Median >= goal : null));
                notes.AppendLine(CultureInfo.InvariantCulture,
                    $"- {backend.Name}, {writers} writer(s): {batches} batches for {stored} events (mean batch {(batches == 0 ? 0 : (double)stored / batches):0.0} events), "
                    + $"{inDatabase.TotalMilliseconds / Math.Max(1, batches):0.00} ms per batch in the database.");
            }
        }
        finally
        {
            await system.TerminateAsync();
        }

        return rows;
    }

    private static async Task<(long, TimeSpan)> KernelAsync(ActorSystem system, int writers, int events)
    {
        var entities = new IActorRef[writers];
        var drivers = new IActorRef[writers];
        var done = new Task[writers];
        for (var i = 0; i < writers; i++)
        {
            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var entity = system.ActorOf(Props.Create(() => new BenchEntity("bench-" + Guid.NewGuid().ToString("N"))));
            entities[i] = entity;
            drivers[i] = system.ActorOf(Props.Create(() => new BenchDriver(entity, events, completion)));
            done[i] = completion.Task;
        }

        // Recovery (an empty history here) happens before the clock starts.
        await Task.WhenAll(entities.Select(e => e.Ask<BenchEntity.Ready>(BenchEntity.Ready.Instance, TimeSpan.FromSeconds(60))));
        var elapsed = await Measure.TimeAsync(() =>
        {
            foreach (var driver in drivers)
            {
                driver.Tell(BenchDriver.Start.Instance, null);
            }

            return Task.WhenAll(done);
        });

        foreach (var actor in entities.Concat(drivers))
        {
            system.Stop(actor);
        }

        return ((long)writers * events, elapsed);
    }

    private static async Task<(long, TimeSpan)> RawAsync(IJournalBackend backend, EventSerializer serializer, int writers, int events)
    {
        var rows = new List<(string, long, byte[])>(writers * events);
        for (var w = 0; w < writers; w++)
        {
            var id = "raw-" + Guid.NewGuid().ToString("N");
            for (var n = 1; n <= events; n++)
            {
                rows.Add((id, n, serializer.Serialize(new Written(n)).Payload));
            }
        }

        return (rows.Count, await backend.RawInsertAsync(rows));
    }
}
