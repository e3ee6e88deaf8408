using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Memory;

/// <summary>
/// Gives the memory a burst left behind back to the operating system once the node is quiet: after a burst of
/// allocations, when the node has hardly allocated since the last look, one full, compacting, decommitting collection
/// (<see cref="GCCollectionMode.Aggressive"/>).
/// </summary>
/// <remarks>
/// The node runs the Server GC (ASP.NET Core's default, and cheaper for many small records). It keeps the regions a
/// burst committed, and on an idle node no collection runs that would decommit them: a backlog of 100,000 parked
/// registrations needs ~1.8 KB of heap each, yet the node kept ~11-15 KiB of RSS each, the memory the live actors took
/// while the backlog was created (bench/README.md, W5). The runtime has no "trim when idle" setting and no package does
/// this, so it is written here; the decision is <see cref="ShouldTrim"/>, a pure function of two samples.
/// </remarks>
public sealed partial class IdleMemoryTrimmer(MemorySettings settings, TimeProvider timeProvider, ILogger<IdleMemoryTrimmer> logger)
    : BackgroundService
{
    private int _looks;
    private int _trims;

    /// <summary>How many times the node looked (one per <see cref="MemorySettings.TrimInterval"/>).</summary>
    public int Looks => Volatile.Read(ref _looks);

    /// <summary>How many times it gave memory back.</summary>
    public int Trims => Volatile.Read(ref _trims);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.TrimInterval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.TrimInterval, timeProvider);
        var previous = MemorySample.Take();
        var lastTrim = previous;
        var quietLooks = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = MemorySample.Take();
                quietLooks = now.AllocatedBytes - previous.AllocatedBytes < settings.QuietAllocationBytes ? quietLooks + 1 : 0;
                if (ShouldTrim(lastTrim, now, quietLooks, settings))
                {
                    var started = timeProvider.GetTimestamp();
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    var took = timeProvider.GetElapsedTime(started);
                    var after = MemorySample.Take();
                    LogTrimmed(logger, (now.AllocatedBytes - lastTrim.AllocatedBytes) >> 20, now.CommittedBytes >> 20, after.CommittedBytes >> 20, after.HeapBytes >> 20, took.TotalMilliseconds);
                    now = after;
                    lastTrim = after;
                    Interlocked.Increment(ref _trims);
                }

                previous = now;
                Interlocked.Increment(ref _looks);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// True after a burst that is over: the node allocated at least <see cref="MemorySettings.BurstBytes"/> since
    /// <paramref name="lastTrim"/>, it has been quiet (less than <see cref="MemorySettings.QuietAllocationBytes"/> per look)
    /// for <paramref name="quietLooks"/> looks in a row, at least <see cref="MemorySettings.QuietFor"/> (a full collection
    /// now delays no one much, is not undone at once, and comes after what a burst leaves to be freed later: pending
    /// registrations park <c>BgFetch:Fetch:ParkPendingAfter</c> after the burst, and a trim before that would keep the
    /// memory they free, until the next burst), and the GC has at least <see cref="MemorySettings.TrimAboveBytes"/>
    /// committed. The GC's own figures of free memory cannot decide it: they are as of the last collection, and on a quiet
    /// node none runs.
    /// </summary>
    public static bool ShouldTrim(MemorySample lastTrim, MemorySample now, int quietLooks, MemorySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return now.AllocatedBytes - lastTrim.AllocatedBytes >= settings.BurstBytes
            && quietLooks >= QuietLooksNeeded(settings)
            && now.CommittedBytes >= settings.TrimAboveBytes;
    }

    /// <summary>How many quiet looks in a row make <see cref="MemorySettings.QuietFor"/> (at least one).</summary>
    public static int QuietLooksNeeded(MemorySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.TrimInterval <= TimeSpan.Zero
            ? 1
            : Math.Max(1, (int)Math.Ceiling(settings.QuietFor.Ticks / (double)settings.TrimInterval.Ticks));
    }
}
