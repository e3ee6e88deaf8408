using System.Runtime.InteropServices;
using System.Text;
using BgFetchCluster.Bench;

// The kernel and journal benchmark (issue 2 item 8): every figure next to a bare peer, in one run.
// Usage: dotnet run -c Release --project bench/Bench -- [--quick] [--only tell,ask,journal,memory]
var quick = args.Contains("--quick");
var onlyIndex = Array.IndexOf(args, "--only");
var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1].Split(',') : ["journal"];
var settings = new BenchSettings(quick);
var rows = new List<Row>();
var notes = new StringBuilder();

Console.Error.WriteLine($"bench: {(quick ? "quick" : "full")} mode, {settings.WarmUps} warm-up(s), {settings.Iterations} iterations, median reported");

// The actor benchmarks of the old kernel went with it (Akka.NET replaced it); the persistence comparison
// (the product's plugin against Akka.Persistence.Sql) is being rebuilt on Akka.
_ = only;
_ = settings;
await Task.CompletedTask;

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
