using BgFetchCluster.Node.Configuration;
using BgFetchCluster.Node.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// <c>BgFetch:Memory</c>: the idle node gives a burst's memory back (bench/README.md, W5: 2.4 KiB of RSS per parked
/// registration instead of 12-15 KiB with the Server GC). The decision, then the service on fake time with the real GC.
/// </summary>
public sealed class IdleMemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;
    private static readonly MemorySettings Defaults = new();

    [Fact]
    public void ShouldTrim_AfterABurst_OnceTheNodeWasQuietForQuietFor_IsTrue()
    {
        var lastTrim = new MemorySample(AllocatedBytes: 100 * MiB, CommittedBytes: 200 * MiB, HeapBytes: 150 * MiB);
        var now = lastTrim with { AllocatedBytes = 4_005 * MiB, CommittedBytes = 1_100 * MiB };

        Assert.Equal(3, IdleMemoryTrimmer.QuietLooksNeeded(Defaults));
        Assert.True(IdleMemoryTrimmer.ShouldTrim(lastTrim, now, quietLooks: 3, Defaults));
    }

    [Fact]
    public void ShouldTrim_QuietForLessThanQuietFor_IsFalse_SoWhatParksAfterTheBurstIsTrimmedToo()
    {
        var lastTrim = new MemorySample(100 * MiB, 200 * MiB, 150 * MiB);
        var now = lastTrim with { AllocatedBytes = 4_005 * MiB, CommittedBytes = 1_100 * MiB };

        // One quiet look (30 s) after the burst: the registrations it left pending have not parked yet.
        Assert.False(IdleMemoryTrimmer.ShouldTrim(lastTrim, now, quietLooks: 1, Defaults));
        Assert.False(IdleMemoryTrimmer.ShouldTrim(lastTrim, now, quietLooks: 2, Defaults));
    }

    [Fact]
    public void ShouldTrim_WhileTheNodeStillAllocates_IsFalse()
    {
        var lastTrim = new MemorySample(100 * MiB, 200 * MiB, 150 * MiB);
        var now = lastTrim with { AllocatedBytes = 4_000 * MiB, CommittedBytes = 1_100 * MiB };

        Assert.False(IdleMemoryTrimmer.ShouldTrim(lastTrim, now, quietLooks: 0, Defaults));
    }

    [Fact]
    public void ShouldTrim_WithoutABurstSinceTheLastTrim_IsFalse()
    {
        var lastTrim = new MemorySample(4_000 * MiB, 900 * MiB, 150 * MiB);
        var now = lastTrim with { AllocatedBytes = 4_101 * MiB };

        Assert.False(IdleMemoryTrimmer.ShouldTrim(lastTrim, now, quietLooks: 10, Defaults));
    }

    [Fact]
    public void ShouldTrim_WhenTheGcHoldsLittle_IsFalse()
    {
        var lastTrim = new MemorySample(0, 60 * MiB, 40 * MiB);
        var now = lastTrim with { AllocatedBytes = 4_001 * MiB };

        Assert.False(IdleMemoryTrimmer.ShouldTrim(lastTrim, now, quietLooks: 10, Defaults));
    }

    [Theory]
    [InlineData(30, 90, 3)]
    [InlineData(30, 100, 4)]
    [InlineData(30, 0, 1)]
    [InlineData(10, 5, 1)]
    public void QuietLooksNeeded_IsQuietForInLooks_AtLeastOne(int intervalSeconds, int quietForSeconds, int looks)
    {
        var settings = new MemorySettings { TrimInterval = TimeSpan.FromSeconds(intervalSeconds), QuietFor = TimeSpan.FromSeconds(quietForSeconds) };

        Assert.Equal(looks, IdleMemoryTrimmer.QuietLooksNeeded(settings));
    }

    [Fact]
    public async Task Service_QuietAfterABurst_TrimsOnItsTick_AndOnlyOnce()
    {
        var time = new FakeTimeProvider();
        var settings = new MemorySettings { TrimInterval = TimeSpan.FromSeconds(30), QuietFor = TimeSpan.FromSeconds(60), BurstBytes = 1, QuietAllocationBytes = long.MaxValue, TrimAboveBytes = 0 };
        using var trimmer = new IdleMemoryTrimmer(settings, time, NullLogger<IdleMemoryTrimmer>.Instance);
        await trimmer.StartAsync(CancellationToken.None);

        await TickUntilAsync(time, settings, () => trimmer.Trims >= 1, "a trim");

        // No burst since the trim: the next looks do not trim again.
        settings.BurstBytes = 512 * MiB;
        var trims = trimmer.Trims;
        var looks = trimmer.Looks;
        await TickUntilAsync(time, settings, () => trimmer.Looks >= looks + 2, "two more looks");
        Assert.Equal(trims, trimmer.Trims);
        await trimmer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Service_WhileTheNodeAllocates_LooksButDoesNotTrim()
    {
        var time = new FakeTimeProvider();
        var settings = new MemorySettings { TrimInterval = TimeSpan.FromSeconds(30), BurstBytes = 1, QuietAllocationBytes = 0, TrimAboveBytes = 0 };
        using var trimmer = new IdleMemoryTrimmer(settings, time, NullLogger<IdleMemoryTrimmer>.Instance);
        await trimmer.StartAsync(CancellationToken.None);

        await TickUntilAsync(time, settings, () => trimmer.Looks >= 2, "two looks");

        Assert.Equal(0, trimmer.Trims);
        await trimmer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void Settings_ZeroInterval_IsAllowed_NegativeIsRefusedNamingTheSection()
    {
        new BgFetchSettings { Memory = new MemorySettings { TrimInterval = TimeSpan.Zero } }.Validate(isDevelopment: true);
        var settings = new BgFetchSettings { Memory = new MemorySettings { TrimInterval = TimeSpan.FromSeconds(-1) } };

        var failure = Assert.Throws<InvalidOperationException>(() => settings.Validate(isDevelopment: true));

        Assert.Contains("BgFetch:Memory", failure.Message, StringComparison.Ordinal);
        var negativeQuiet = new BgFetchSettings { Memory = new MemorySettings { QuietFor = TimeSpan.FromSeconds(-1) } };
        Assert.Contains("QuietFor", Assert.Throws<InvalidOperationException>(() => negativeQuiet.Validate(isDevelopment: true)).Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Moves the fake clock on by one interval at a time until <paramref name="condition"/> holds: the service starts its
    /// timer on a thread of its own (BackgroundService), so a single move made before the timer exists would be lost.
    /// </summary>
    private static async Task TickUntilAsync(FakeTimeProvider time, MemorySettings settings, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Expected {what} within 10 s of real time.");
            time.Advance(settings.TrimInterval);
            await Task.Delay(20);
        }
    }
}
