using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BgFetchCluster.Bench;

// The kernel and journal benchmark (issue 2 item 8): every figure next to a bare peer, in one run.
// Usage: dotnet run -c Release --project bench/Bench -- [--quick] [--only tell,ask,journal,memory]
var quick = args.Contains("--quick");
var onlyIndex = Array.IndexOf(args, "--only");
var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1].Split(',') : ["tell", "ask", "journal", "memory"];
var settings = new BenchSettings(quick);
var rows = new List<Row>();
var notes = new StringBuilder();

Console.Error.WriteLine($"bench: {(quick ? "quick" : "full")} mode, {settings.WarmUps} warm-up(s), {settings.Iterations} iterations, median reported");

if (only.Contains("tell"))
{
    Console.Error.WriteLine("bench: tell");
    rows.Add(await TellBench.RunAsync(settings, pairs: 1, roundTripsPerPair: settings.Scale(1_000_000)));
    rows.Add(await TellBench.RunAsync(settings, pairs: 64, roundTripsPerPair: settings.Scale(50_000)));
}

if (only.Contains("ask"))
{
    Console.Error.WriteLine("bench: ask");
    rows.Add(await AskBench.RunAsync(settings, callers: 1, asksPerCaller: settings.Scale(200_000)));
    rows.Add(await AskBench.RunAsync(settings, callers: 16, asksPerCaller: settings.Scale(50_000)));
}

if (only.Contains("journal"))
{
    Console.Error.WriteLine("bench: journal on SQLite");
    await using (var sqlite = new SqliteBackend())
    {
        notes.AppendLine(CultureInfo.InvariantCulture, $"- {await sqlite.DescribeAsync()}");
        rows.AddRange(await JournalBench.RunAsync(settings, sqlite, [(1, settings.Scale(500), null), (100, settings.Scale(500), 50_000)], notes));
    }

    var postgres = Environment.GetEnvironmentVariable("BGFETCH_BENCH_POSTGRES") is { Length: > 0 } bench
        ? bench
        : Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES");
    if (string.IsNullOrWhiteSpace(postgres))
    {
        const string Skipped = "- PostgreSQL was skipped: neither BGFETCH_BENCH_POSTGRES nor BGFETCH_TEST_POSTGRES is set (bench/run-kernel.sh starts a local one).";
        Console.Error.WriteLine("bench: " + Skipped[2..]);
        notes.AppendLine(Skipped);
    }
    else
    {
        Console.Error.WriteLine("bench: journal on PostgreSQL");
        await using var pg = new PostgreSqlBackend(postgres);
        notes.AppendLine(CultureInfo.InvariantCulture, $"- {await pg.DescribeAsync()}");
        rows.AddRange(await JournalBench.RunAsync(settings, pg, [(1, settings.Scale(500), null), (100, settings.Scale(500), 20_000)], notes));
    }
}

if (only.Contains("memory"))
{
    Console.Error.WriteLine("bench: memory");
    rows.AddRange(await MemoryBench.RunAsync(settings, actors: 100_000));
}

Console.WriteLine($"## BgFetchCluster kernel benchmark ({(quick ? "quick" : "full")} mode)");
Console.WriteLine();
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cores, "
    + $"{RuntimeInformation.OSDescription}, GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}; "
    + $"{settings.WarmUps} warm-up(s) + median of {settings.Iterations} iterations (range in brackets when it exceeds 5%).");
Console.WriteLine();
Console.Write(Report.ToMarkdown(rows));
Console.WriteLine();
if (notes.Length > 0)
{
    Console.WriteLine("Notes:");
    Console.WriteLine();
    Console.Write(notes);
}
