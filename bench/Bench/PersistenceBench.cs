using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Bench;

/// <summary>One journal and snapshot store under test: where, which plugin, and how to add it to a host.</summary>
/// <param name="Store">The database (SQLite, PostgreSQL, memory).</param>
/// <param name="Plugin">The plugin's name in the report.</param>
/// <param name="Database">The database, for the raw-driver peer and PostgreSQL's CPU; null for memory.</param>
/// <param name="PrepareAsync">Creates the plugin's empty store and returns the Akka.Hosting call that selects it.</param>
/// <param name="CountsRoundTrips">Whether the journal answers <see cref="GetBatchingStats"/> (the product's plugin).</param>
internal sealed record PluginCase(
    string Store,
    string Plugin,
    IBenchDatabase? Database,
    Func<Task<Action<AkkaConfigurationBuilder>>> PrepareAsync,
    bool CountsRoundTrips = false);

/// <summary>What one <see cref="PluginCase"/> measured; rates per second, CPU in milliseconds per creation.</summary>
internal sealed record PersistenceResult(
    PluginCase Case,
    double ColdCreations,
    Sample Creations,
    Sample Events,
    Sample JournalAlone,
    Sample? RawDriver,
    Sample ProcessCpuPerCreation,
    Sample? PostgreSqlCpuPerCreation,
    double? TransactionsPerCreation);

/// <summary>
/// The persistence comparison on Akka: N sharded persistent entities, each recovering (nothing to replay:
/// its id is new) and persisting three events, 200 asks in flight; then the same entities, live, persisting
/// three more each; then the journal actor alone under many writers.
/// </summary>
internal static class PersistenceBench
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(120);

    public static async Task<PersistenceResult> RunAsync(PluginCase pluginCase, BenchSettings settings)
    {
        var configure = await pluginCase.PrepareAsync();
        var (host, system, region) = await BenchHost.StartAsync(configure, settings.Shards);
        try
        {
            var n = settings.Entities;
            var journal = Persistence.Instance.Apply(system).JournalFor(null);

            // The first pass of a fresh process and system: JIT, connection pools, shard and entity start-up,
            // tables created. Reported as the cold figure, never in the medians.
            var cold = await Cpu.MeasureAsync(() => DriveAsync(region, "cold", n, settings.InFlight, BenchEntity.EventsPerCommand));
            Console.Error.WriteLine($"bench: {pluginCase.Store} / {pluginCase.Plugin}: cold pass {n / cold.Wall.TotalSeconds:0} creations/s");

            var creations = new List<double>();
            var events = new List<double>();
            var processCpu = new List<double>();
            var postgreSqlCpu = new List<double>();
            long roundTrips = 0;
            long storedEvents = 0;
            long reads = 0;
            long readRoundTrips = 0;
            for (var i = 0; i < settings.Iterations; i++)
            {
                Collect();
                var prefix = $"pass{i}";
                var before = pluginCase.CountsRoundTrips ? await StatsAsync(journal) : null;
                var created = await Cpu.MeasureAsync(() => DriveAsync(region, prefix, n, settings.InFlight, BenchEntity.EventsPerCommand));
                creations.Add(n / created.Wall.TotalSeconds);
                processCpu.Add(created.Process.TotalMilliseconds / n);
                postgreSqlCpu.Add(created.PostgreSql.TotalMilliseconds / n);
                if (before is not null && await StatsAsync(journal) is { } after)
                {
                    roundTrips += after.RoundTrips - before.RoundTrips;
                    storedEvents += after.Events - before.Events;
                    reads += after.Reads - before.Reads;
                    readRoundTrips += after.ReadRoundTrips - before.ReadRoundTrips;
                }

                // The same entities again: live, nothing to recover or remember, three events each.
                var live = await Cpu.MeasureAsync(() => DriveAsync(region, prefix, n, settings.InFlight, 2 * BenchEntity.EventsPerCommand));
                events.Add(n * BenchEntity.EventsPerCommand / live.Wall.TotalSeconds);
                Console.Error.WriteLine(
                    $"bench: {pluginCase.Store} / {pluginCase.Plugin}: pass {i + 1}: {creations[^1]:0} creations/s, {events[^1]:0} events/s (live)");
            }

            double? transactionsPerCreation = pluginCase.CountsRoundTrips ? roundTrips / (double)(n * settings.Iterations) : null;
            if (pluginCase.CountsRoundTrips)
            {
                // Three of the entity's events and sharding's EntityStarted per creation (plus the shards' rare snapshots).
                Console.Error.WriteLine(
                    $"bench: {pluginCase.Store} / {pluginCase.Plugin}: {storedEvents / (double)(n * settings.Iterations):0.00} events stored per creation, "
                    + $"{storedEvents / (double)Math.Max(1, roundTrips):0} per transaction");

                // Akka reads each new entity's highest sequence number before its recovery; the plugin batches those reads.
                Console.Error.WriteLine(
                    $"bench: {pluginCase.Store} / {pluginCase.Plugin}: {reads / (double)(n * settings.Iterations):0.00} highest-sequence-number reads "
                    + $"and {readRoundTrips / (double)(n * settings.Iterations):0.000} read queries per creation "
                    + $"({reads / (double)Math.Max(1, readRoundTrips):0} reads per query), "
                    + $"{roundTrips / (double)(n * settings.Iterations):0.000} write transactions per creation");
            }

            var (journalAlone, rawDriver) = await JournalAloneAsync(system, journal, pluginCase.Database, settings);
            return new PersistenceResult(
                pluginCase,
                n / cold.Wall.TotalSeconds,
                Sample.Of(creations),
                Sample.Of(events),
                journalAlone,
                rawDriver,
                Sample.Of(processCpu),
                pluginCase.Database?.Provider == Actors.Fetch.StorageProvider.PostgreSql ? Sample.Of(postgreSqlCpu) : null,
                transactionsPerCreation);
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    /// <summary>
    /// Asks <paramref name="count"/> entities <c>{prefix}-{i}</c> for three events each, <paramref name="inFlight"/>
    /// at a time. Each answer must carry <paramref name="expectedSequenceNr"/>: proof that the entity recovered
    /// its history (none when new) and that its events were stored.
    /// </summary>
    private static async Task DriveAsync(IActorRef region, string prefix, int count, int inFlight, long expectedSequenceNr)
    {
        var next = -1;
        var workers = new Task[Math.Min(inFlight, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var persisted = await region.Ask<Persisted>(new Work($"{prefix}-{i}"), AskTimeout).ConfigureAwait(false);
                    if (persisted.SequenceNr != expectedSequenceNr)
                    {
                        throw new InvalidOperationException(
                            $"Entity {prefix}-{i} answered sequence number {persisted.SequenceNr}, expected {expectedSequenceNr}.");
                    }
                }
            });
        }

        await Task.WhenAll(workers);
    }

    /// <summary>
    /// Many writers, one event per write, straight to the journal actor (no persistent actor, no sharding),
    /// next to the bare driver inserting the same number of rows in one transaction.
    /// </summary>
    private static async Task<(Sample JournalAlone, Sample? RawDriver)> JournalAloneAsync(
        ActorSystem system,
        IActorRef journal,
        IBenchDatabase? database,
        BenchSettings settings)
    {
        var total = settings.Writers * settings.EventsPerWriter;
        var journalRates = new List<double>();
        var rawRates = new List<double>();
        for (var pass = 0; pass <= settings.Iterations; pass++)
        {
            Collect();
            var writers = new Task[settings.Writers];
            var elapsed = await Cpu.MeasureAsync(async () =>
            {
                for (var w = 0; w < writers.Length; w++)
                {
                    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    writers[w] = done.Task;
                    system.ActorOf(JournalWriter.Props(journal, $"writer-{pass}-{w}", settings.EventsPerWriter, done));
                }

                await Task.WhenAll(writers).WaitAsync(AskTimeout);
            });

            // Pass 0 warms up the writers' code paths.
            if (pass > 0)
            {
                journalRates.Add(total / elapsed.Wall.TotalSeconds);
            }

            if (database is not null && pass > 0)
            {
                // The raw table is shared by the plugins of one database: ids unique per call.
                var run = Guid.NewGuid().ToString("N")[..8];
                var rows = new List<(string, long, byte[])>(total);
                for (var w = 0; w < settings.Writers; w++)
                {
                    for (var s = 1; s <= settings.EventsPerWriter; s++)
                    {
                        rows.Add(($"raw-{run}-{w}", s, System.Text.Encoding.UTF8.GetBytes($"raw-{run}-{w}:{s}")));
                    }
                }

                var raw = await database.RawInsertAsync(rows);
                rawRates.Add(total / raw.TotalSeconds);
            }
        }

        return (Sample.Of(journalRates), rawRates.Count > 0 ? Sample.Of(rawRates) : null);
    }

    /// <summary>The product's journal's round-trip counters.</summary>
    private static Task<BatchingStats> StatsAsync(IActorRef journal) =>
        journal.Ask<BatchingStats>(GetBatchingStats.Instance, TimeSpan.FromSeconds(10));

    private static void Collect()
    {
        // Each pass starts from a collected heap so one pass's garbage does not tax the next.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
