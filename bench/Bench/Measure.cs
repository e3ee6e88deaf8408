using System.Diagnostics;

namespace BgFetchCluster.Bench;

/// <summary>How long and how often each scenario runs; quick mode trades precision for time.</summary>
internal sealed record BenchSettings(bool Quick)
{
    public int WarmUps => Quick ? 1 : 2;

    public int Iterations => Quick ? 3 : 7;

    /// <summary>Scales a full-mode count down in quick mode.</summary>
    public int Scale(int full) => Quick ? Math.Max(1, full / 10) : full;
}

/// <summary>Runs one measurement several times after warming up and keeps the median.</summary>
internal static class Measure
{
    /// <summary>
    /// Runs <paramref name="run"/> (which returns the operations it performed and the time they took)
    /// warm-up times unrecorded, then <c>Iterations</c> times, and returns the median rate per second.
    /// </summary>
    public static async Task<Sample> RateAsync(BenchSettings settings, Func<Task<(long Operations, TimeSpan Elapsed)>> run)
    {
        for (var i = 0; i < settings.WarmUps; i++)
        {
            await run();
        }

        var rates = new List<double>(settings.Iterations);
        for (var i = 0; i < settings.Iterations; i++)
        {
            // Each iteration starts from a collected heap so one run's garbage does not tax the next.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var (operations, elapsed) = await run();
            rates.Add(operations / elapsed.TotalSeconds);
        }

        return Sample.Of(rates);
    }

    /// <summary>Times <paramref name="action"/> from start to completion.</summary>
    public static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var stopwatch = Stopwatch.StartNew();
        await action();
        return stopwatch.Elapsed;
    }
}

/// <summary>The median of several measurements, with their spread for the record.</summary>
internal sealed record Sample(double Median, double Min, double Max)
{
    public static Sample Of(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Sample(median, sorted[0], sorted[^1]);
    }
}
