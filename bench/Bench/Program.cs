using System.Globalization;
using System.Runtime.InteropServices;
using Akka.Hosting;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Bench;

// The persistence comparison on Akka (issue 11 item 7): the product's journal plugin against
// Akka.Persistence.Sql on SQLite and PostgreSQL, with Akka's in-memory journal as the ceiling, in one run.
// Usage: dotnet bench/Bench/bin/Release/net10.0/BgFetchCluster.Bench.dll [--quick] [--entities N]
//        [--only inmem,bgfetch-sqlite,akkasql-sqlite,bgfetch-postgresql,akkasql-postgresql]
// PostgreSQL from BGFETCH_BENCH_POSTGRES, else BGFETCH_TEST_POSTGRES; without either its rows are skipped.
// Or: dotnet bench/Bench/bin/Release/net10.0/BgFetchCluster.Bench.dll --construction [--count N] [--rounds N]
// (issue 17, cut 6: what creating a persistent actor costs with expression props or a producer, receive or switch).
if (args.Contains("--construction"))
{
    var countAt = Array.IndexOf(args, "--count");
    var roundsAt = Array.IndexOf(args, "--rounds");
    await ConstructionBench.RunAsync(
        Console.Out,
        countAt >= 0 && countAt + 1 < args.Length ? int.Parse(args[countAt + 1], CultureInfo.InvariantCulture) : 20_000,
        roundsAt >= 0 && roundsAt + 1 < args.Length ? int.Parse(args[roundsAt + 1], CultureInfo.InvariantCulture) : 5);
    return;
}

var quick = args.Contains("--quick");
var settings = new BenchSettings(quick);
var entitiesIndex = Array.IndexOf(args, "--entities");
if (entitiesIndex >= 0 && entitiesIndex + 1 < args.Length)
{
    settings = settings with { Entities = int.Parse(args[entitiesIndex + 1], CultureInfo.InvariantCulture) };
}

var onlyIndex = Array.IndexOf(args, "--only");
var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1].Split(',') : null;

// Stdout is the report alone: everything else (progress, Akka's own console output) goes to stderr.
var report = Console.Out;
Console.SetOut(Console.Error);

var postgresConnection = Environment.GetEnvironmentVariable("BGFETCH_BENCH_POSTGRES") is { Length: > 0 } benchPostgres
    ? benchPostgres
    : Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES");
await using var sqlite = new SqliteDatabase();
await using var postgreSql = string.IsNullOrWhiteSpace(postgresConnection) ? null : new PostgreSqlDatabase(postgresConnection);

var notes = new List<string>();
var cases = new List<(string Key, PluginCase Case)>
{
    ("inmem", new PluginCase("memory", "Akka in-memory journal (ceiling)", null, () => Task.FromResult<Action<AkkaConfigurationBuilder>>(akka =>
        akka.AddHocon(
            """
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """,
            HoconAddMode.Prepend)))),
};
foreach (var database in new IBenchDatabase?[] { sqlite, postgreSql })
{
    if (database is null)
    {
        notes.Add("PostgreSQL rows skipped: neither BGFETCH_BENCH_POSTGRES nor BGFETCH_TEST_POSTGRES is set.");
        continue;
    }

    var provider = database.Provider;
    var name = database.Name.ToLowerInvariant();
    cases.Add(($"bgfetch-{name}", new PluginCase(database.Name, "BgFetch (`WithBgFetchPersistence`)", database, async () =>
    {
        var (connectionString, schema) = await database.NewStoreAsync("bgfetch");
        return akka => akka.WithBgFetchPersistence(provider, connectionString, schema);
    }, CountsRoundTrips: true)));
    cases.Add(($"akkasql-{name}", new PluginCase(database.Name, "Akka.Persistence.Sql (`WithAkkaSqlPersistence`)", database, async () =>
    {
        var (connectionString, schema) = await database.NewStoreAsync("akkasql");
        return akka => akka.WithAkkaSqlPersistence(provider, connectionString, provider == BgFetchCluster.Actors.Fetch.StorageProvider.PostgreSql ? schema : null);
    })));
}

Console.Error.WriteLine($"bench: {(quick ? "quick" : "full")} mode: {settings.Entities:N0} entities per pass, 1 cold pass + {settings.Iterations} measured, "
    + $"{settings.InFlight} asks in flight, {settings.Shards} shards");
var descriptions = new List<string>();
foreach (var database in new IBenchDatabase?[] { sqlite, postgreSql })
{
    if (database is not null)
    {
        descriptions.Add(await database.DescribeAsync());
    }
}

var results = new List<PersistenceResult>();
foreach (var (key, pluginCase) in cases)
{
    if (only is not null && !only.Contains(key))
    {
        continue;
    }

    results.Add(await PersistenceBench.RunAsync(pluginCase, settings));
}

report.WriteLine($"## Persistence on Akka.NET ({(quick ? "quick" : "full")} mode)");
report.WriteLine();
report.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cores, "
    + $"{RuntimeInformation.OSDescription}, GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}. "
    + $"{settings.Entities:N0} sharded persistent entities per pass ({settings.Shards} shards, remember-entities eventsourced, no snapshot store for the entities), "
    + $"each recovering and persisting {BenchEntity.EventsPerCommand} events, {settings.InFlight} asks in flight; "
    + $"a cold first pass, then the median of {settings.Iterations} warm passes (range in brackets when it exceeds 5%). "
    + $"Journal alone: {settings.Writers} writers x {settings.EventsPerWriter} events, one event per write, to the journal actor.");
report.WriteLine();
report.Write(Report.ToMarkdown(results, settings));
report.WriteLine();
report.WriteLine("Databases:");
report.WriteLine();
foreach (var description in descriptions)
{
    report.WriteLine($"- {description}");
}

foreach (var note in notes)
{
    report.WriteLine($"- {note}");
}
