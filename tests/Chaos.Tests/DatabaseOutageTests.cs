using System.Diagnostics;
using BgFetchCluster.Chaos.Tests.Infrastructure;
using BgFetchCluster.Chaos.Tests.Workload;
using Xunit.Abstractions;

namespace BgFetchCluster.Chaos.Tests;

/// <summary>
/// PostgreSQL stopped under load for 10 s and for 45 s (both within the default <c>BgFetch:Storage:OutageTolerance</c>
/// of one minute), then started again (docs/architecture.md, "Failure model": the database goes away). The API answers 503 with
/// Retry-After meanwhile, never 500; no registration fails; the checker finds nothing.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class DatabaseOutageTests(ChaosFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task PostgreSqlStop_For10SecondsUnderLoad_NoRegistrationFails_AndNo500IsAnswered() =>
        RunAsync("da", TimeSpan.FromSeconds(10));

    // Longer than BgFetch:Http:RequestTimeout (30 s): creations waiting on the database answer 503, and some of them are
    // journaled all the same once it is back; the node must then abort and release them itself (the checker's
    // "creations answered 503 but stored anyway" and "of those, aborted and released by the node").
    [Fact]
    public Task PostgreSqlStop_For45SecondsUnderLoad_NoRegistrationFails_AndNo500IsAnswered() =>
        RunAsync("db", TimeSpan.FromSeconds(45));

    private async Task RunAsync(string prefix, TimeSpan outage)
    {
        await using var run = await ChaosRun.StartAsync(fixture, output, prefix);
        run.Load.Start();
        await run.WaitForDownloadsInFlightAsync(3, TimeSpan.FromSeconds(90));
        var clock = Stopwatch.StartNew();
        await run.Postgres.StopAsync();
        run.Note($"PostgreSQL stopped for {outage.TotalSeconds} s");
        var notReady = ChaosRun.MeasureAsync(clock, () => ChaosRun.WaitUntilAsync(
            async () => !await run.IsReadyAsync(0), "node 0 to answer /ready with 503 while PostgreSQL is away", outage));

        // The fault's duration, not a wait for a condition.
        await Task.Delay(outage);
        await run.Postgres.StartAsync();
        var restartedAt = clock.Elapsed;
        var createdBefore = run.Load.Attempts.Count(static a => a.Outcome == CreateOutcome.Created);
        run.Note("PostgreSQL started again");
        try
        {
            run.Figure("node 0 not ready after", await notReady);
        }
        catch (TimeoutException e)
        {
            run.Figure("node 0 not ready after", "never during the outage (" + e.Message + ")");
        }

        await ChaosRun.WaitUntilAsync(
            async () => (await Task.WhenAll(Enumerable.Range(0, run.Cluster.Size).Select(run.IsReadyAsync))).All(static r => r),
            "every node to answer /ready with 200 again",
            TimeSpan.FromSeconds(90));
        run.Figure("every node ready again after the restart", clock.Elapsed - restartedAt);
        await ChaosRun.WaitUntilAsync(
            () => Task.FromResult(run.Load.Attempts.Count(static a => a.Outcome == CreateOutcome.Created) >= createdBefore + 6),
            "six more registrations created after the restart",
            TimeSpan.FromSeconds(90));
        run.Figure("six more creations after the restart within", clock.Elapsed - restartedAt);
        await run.StopLoadAndCheckAsync([]);
    }
}
