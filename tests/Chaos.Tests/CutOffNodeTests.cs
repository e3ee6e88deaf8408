using BgFetchCluster.Chaos.Tests.Checking;
using BgFetchCluster.Chaos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BgFetchCluster.Chaos.Tests;

/// <summary>
/// A node cut off from the other two by a network partition (with and without PostgreSQL on its side), or frozen by
/// SIGSTOP, while the workload runs through every node (docs/architecture.md, "Failure model"). The majority downs it and
/// resumes its downloads with Range; the cut-off node stops itself (SBR keep-majority); no write of it lands after the
/// new owner took a registration over; restarted, it rejoins; the checker finds nothing.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class CutOffNodeTests(ChaosFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Partition = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(15);

    [Fact]
    public Task Partition_OfOneNodeFromTheOthersAndPostgreSql_MajorityTakesOverWithRange_AndNoZombieWriteLands() =>
        RunAsync("pa", (run, victim) => CutAsync(run, victim, fromHost: true));

    [Fact]
    public Task Partition_OfOneNodeFromTheOthersOnly_MajorityTakesOverWithRange_AndNoZombieWriteLands() =>
        RunAsync("pb", (run, victim) => CutAsync(run, victim, fromHost: false));

    [Fact]
    public Task SigStop_OfOneNodeFor15Seconds_MajorityTakesOverWithRange_AndTheResumedNodeWritesNothing() =>
        RunAsync("ps", async (run, victim) =>
        {
            run.Cluster[victim].Pause();
            run.Note($"SIGSTOP node {victim} for {Pause.TotalSeconds} s");
            await Task.Delay(Pause);
            run.Cluster[victim].Resume();
            run.Note($"SIGCONT node {victim}");
        });

    private static async Task CutAsync(ChaosRun run, int victim, bool fromHost)
    {
        await run.Lab.IsolateAsync(victim, fromHost);
        run.Note($"cut node {victim} off from the other nodes{(fromHost ? ", PostgreSQL, the origin and the test" : " (it still reaches PostgreSQL and the origin)")} for {Partition.TotalSeconds} s");

        // The fault's duration, not a wait for a condition.
        await Task.Delay(Partition);
        await run.Lab.HealAsync();
        run.Note("healed");
    }

    private async Task RunAsync(string prefix, Func<ChaosRun, int, Task> nemesis)
    {
        await using var run = await ChaosRun.StartAsync(fixture, output, prefix);
        run.Load.Start();
        await run.WaitForDownloadsInFlightAsync(6, TimeSpan.FromSeconds(90));
        var victim = await run.BusiestWriterAsync();
        var majority = Enumerable.Range(0, run.Cluster.Size).Where(slot => slot != victim).ToList();
        var victimProcess = run.Cluster[victim];
        var victimName = run.Cluster.ApplicationNameOf(victim);
        var rangedBefore = run.RangedRequests();
        var since = await run.DatabaseNowAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        run.Note($"victim: node {victim} ({victimName})");

        // Watchers of the recovery, running while the nemesis holds its fault.
        var downed = ChaosRun.MeasureAsync(clock, () => run.Cluster.WaitForMembersAsync(2, majority, TimeSpan.FromSeconds(90)));
        var resumed = ChaosRun.MeasureAsync(clock, () => ChaosRun.WaitUntilAsync(() => Task.FromResult(run.RangedRequests() > rangedBefore), "a moved download to resume with Range", TimeSpan.FromSeconds(90)));
        var stopped = ChaosRun.MeasureAsync(clock, () => ChaosRun.WaitUntilAsync(() => Task.FromResult(victimProcess.HasExited), $"the cut-off node {victim} to stop itself", TimeSpan.FromSeconds(90)));
        await nemesis(run, victim);

        run.Figure("cut-off node stopped itself after", await stopped);
        run.Figure("majority saw 2 members after", await downed);
        try
        {
            run.Figure("first moved download resumed with Range after", await resumed);
        }
        catch (TimeoutException e)
        {
            // Say what the moved registrations were doing: stuck (never restarted, or waiting) or running without Range.
            throw new TimeoutException($"{e.Message}\n{await run.DescribeActiveAsync(majority[0])}\nranged requests at the origin: {run.RangedRequests()} (before the fault: {rangedBefore})", e);
        }
        await run.Cluster.ForgetExitedAsync(victim);

        await run.RestartAsync(victim);
        await run.Cluster.WaitForMembersAsync(3, [0, 1, 2], TimeSpan.FromSeconds(90));
        run.Figure("restarted node rejoined, 3 members Up, after", clock.Elapsed);
        run.Note("rejoined; the workload runs on until the restarted node has taken creations");
        await run.WaitForCreationsThroughAsync(victim, 3, TimeSpan.FromSeconds(60));
        await run.StopLoadAndCheckAsync([new Victim(victimName, since)]);
    }
}
