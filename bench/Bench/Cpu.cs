using System.Diagnostics;
using System.Globalization;

namespace BgFetchCluster.Bench;

/// <summary>CPU time used by this process and by the local PostgreSQL server, read around a measurement.</summary>
internal static class Cpu
{
    // USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux.
    private const double TicksPerSecond = 100;

    public static TimeSpan Process() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>
    /// User plus system time of every process named <c>postgres</c> (the server, its backends and
    /// background workers); zero where /proc is absent. Backends that exit in between are lost, which
    /// the benchmark avoids by keeping its connections pooled.
    /// </summary>
    public static TimeSpan PostgreSql()
    {
        if (!Directory.Exists("/proc"))
        {
            return TimeSpan.Zero;
        }

        long ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // pid (comm) state ppid ...: utime and stime are fields 14 and 15, the 12th and 13th after ")".
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open || stat.AsSpan(open + 1, close - open - 1) is not "postgres")
            {
                continue;
            }

            var fields = stat[(close + 2)..].Split(' ');
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }

        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>Times <paramref name="action"/> and the CPU it and the PostgreSQL server used.</summary>
    public static async Task<(TimeSpan Wall, TimeSpan Process, TimeSpan PostgreSql)> MeasureAsync(Func<Task> action)
    {
        var process = Process();
        var postgreSql = PostgreSql();
        var stopwatch = Stopwatch.StartNew();
        await action();
        var wall = stopwatch.Elapsed;
        return (wall, Process() - process, PostgreSql() - postgreSql);
    }
}
