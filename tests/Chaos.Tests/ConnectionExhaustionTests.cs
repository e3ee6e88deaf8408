using System.Diagnostics;
using BgFetchCluster.Chaos.Tests.Infrastructure;
using BgFetchCluster.Chaos.Tests.Workload;
using Npgsql;
using Xunit.Abstractions;

namespace BgFetchCluster.Chaos.Tests;

/// <summary>
/// Another client holds all but 10 of PostgreSQL's connections for 30 s under load (docs/architecture.md, "Failure model": the
/// database runs out of connections). The nodes keep to their budget and wait for connections instead of failing;
/// the cluster slows down and recovers with nothing failed.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class ConnectionExhaustionTests(ChaosFixture fixture, ITestOutputHelper output)
{
    private const int LeftFree = 10;
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConnectionHog_HoldingAllButTenConnectionsFor30Seconds_ClusterRecovers_AndNothingFails()
    {
        await using var run = await ChaosRun.StartAsync(fixture, output, "cx");
        run.Load.Start();
        await run.WaitForDownloadsInFlightAsync(3, TimeSpan.FromSeconds(90));
        var clock = Stopwatch.StartNew();
        var hog = new List<NpgsqlConnection>();
        try
        {
            await HoldAllButAsync(run, hog, LeftFree);
            run.Note($"the hog holds {hog.Count} connections; {LeftFree} are left for the nodes for {Hold.TotalSeconds} s");
            run.Figure("connections the hog held", hog.Count);
            run.Figure("connections in use by the nodes when the hog took the rest", await ConnectionsInUseAsync(run, "bgfetch-%"));

            // The fault's duration, not a wait for a condition.
            await Task.Delay(Hold);
            var during = run.Load.Attempts.Where(a => a.At >= DateTime.UtcNow - Hold).ToList();
            run.Figure("creations answered 201 while the hog held", during.Count(static a => a.Outcome == CreateOutcome.Created));
            run.Figure("slowest creation while the hog held", during.Count == 0 ? TimeSpan.Zero : during.Max(static a => a.Took));
        }
        finally
        {
            foreach (var connection in hog)
            {
                await connection.DisposeAsync();
            }
        }

        run.Note("the hog let go");
        var createdBefore = run.Load.Attempts.Count(static a => a.Outcome == CreateOutcome.Created);
        var releasedAt = clock.Elapsed;
        await ChaosRun.WaitUntilAsync(
            () => Task.FromResult(run.Load.Attempts.Count(static a => a.Outcome == CreateOutcome.Created) >= createdBefore + 6),
            "six more registrations created after the hog let go",
            TimeSpan.FromSeconds(90));
        run.Figure("six more creations after the hog let go within", clock.Elapsed - releasedAt);
        await run.StopLoadAndCheckAsync([]);
    }

    /// <summary>Opens connections as an ordinary role (as the nodes log in) until only <paramref name="leftFree"/> remain for non-superusers.</summary>
    private static async Task HoldAllButAsync(ChaosRun run, List<NpgsqlConnection> hog, int leftFree)
    {
        var hogConnection = new NpgsqlConnectionStringBuilder(run.Postgres.SessionConnectionString)
        {
            Username = PrivatePostgres.NodeRole,
            ApplicationName = "chaos-hog",
        }.ConnectionString;
        for (var round = 0; round < 3; round++)
        {
            // Non-superusers may open max_connections - superuser_reserved_connections (3) backends in all.
            var free = run.Postgres.MaxConnections - 3 - await ConnectionsInUseAsync(run, "%");
            if (free <= leftFree)
            {
                return;
            }

            for (var i = 0; i < free - leftFree; i++)
            {
                var connection = new NpgsqlConnection(hogConnection);
                await connection.OpenAsync();
                hog.Add(connection);
            }
        }
    }

    private static async Task<int> ConnectionsInUseAsync(ChaosRun run, string applicationPattern)
    {
        await using var connection = new NpgsqlConnection(run.Postgres.SessionConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name LIKE @pattern AND pid <> pg_backend_pid()",
            connection);
        command.Parameters.AddWithValue("pattern", applicationPattern);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
