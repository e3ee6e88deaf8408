using System.Net;
using System.Text.RegularExpressions;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// A registration that only waits for a turn passivates (<c>BgFetch:Fetch:ParkPendingAfter</c>, issue 17, W5) and
/// the scheduler starts it again when its turn comes, on a real node process (the parked count is on <c>/metrics</c>).
/// </summary>
public sealed partial class ParkingTests : NodeProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PendingRegistration_ParksWhileItWaitsForATurn_IsStartedAgainByTheTurn_AndEndsByteExact()
    {
        await using var node = await StartNodeAsync("--BgFetch:Fetch:MaxConcurrentRecords=1", "--BgFetch:Fetch:ParkPendingAfter=00:00:01");

        // One record at a time on the node: the runner takes the turn for a few seconds (6 MB at 1 MB/s).
        using (var runner = await node.Client.CreateAsync(new { id = "runner", requests = new[] { Origin.BaseUrl + "files/runner.bin?size=6000000&rate=1000000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, runner.StatusCode);
        }

        await node.Client.WaitForAsync("runner", static r => r.Downloaded > 0, "the runner under way", Deadline);
        using (var waiting = await node.Client.CreateAsync(new { id = "waiting", requests = new[] { Origin.BaseUrl + "files/waiting.bin?size=100000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, waiting.StatusCode);
        }

        // Nothing asks for the waiting one (a read would start it again): it parks after two checks a second apart.
        await WaitForMetricAsync(node, ParkedOnce(), "the waiting registration to park");
        Assert.DoesNotContain(Origin.Requests, static r => r.PathAndQuery.StartsWith("/files/waiting", StringComparison.Ordinal));

        // The runner's end gives the turn to the parked registration, which starts again for it and fetches.
        await node.Client.WaitForSettledAsync("runner", Deadline);
        await WaitUntilAsync(() => Origin.Requests.Any(static r => r.PathAndQuery.StartsWith("/files/waiting", StringComparison.Ordinal)), "the parked registration's request at the origin");
        var settled = await node.Client.WaitForSettledAsync("waiting", Deadline);

        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        Assert.Equal(100_000, settled.Downloaded);
        var records = await node.Client.MatchAllAsync("waiting");
        Assert.Equal(200, Assert.Single(records).Response!.Status);

        // Started again by its turn, it is not counted as a failover.
        var metrics = await node.Client.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.DoesNotMatch(FailoverCounted(), metrics);
    }

    [Fact]
    public async Task ParkedRegistration_ReadWhileItWaits_IsAnsweredWithoutResumingIt_AndItsTurnStillStartsIt()
    {
        await using var node = await StartNodeAsync("--BgFetch:Fetch:MaxConcurrentRecords=1", "--BgFetch:Fetch:ParkPendingAfter=00:00:01");

        // The runner holds the node's one turn until the test aborts it (60 MB at 1 MB/s).
        using (var runner = await node.Client.CreateAsync(new { id = "runner", requests = new[] { Origin.BaseUrl + "files/runner.bin?size=60000000&rate=1000000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, runner.StatusCode);
        }

        await node.Client.WaitForAsync("runner", static r => r.Downloaded > 0, "the runner under way", Deadline);
        using (var waiting = await node.Client.CreateAsync(new { id = "waiting", requests = new[] { Origin.BaseUrl + "files/waiting.bin?size=100000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, waiting.StatusCode);
        }

        await WaitForMetricAsync(node, ParkedOnce(), "the waiting registration to park");

        // A read starts the entity from its journal; it answers dormant: no resume marker, no fetch, still parked. (Before
        // issue 17's dormancy it resumed first, and the marker was written before the read was answered.)
        var read = await node.Client.GetRegistrationAsync("waiting");
        Assert.Equal(BackgroundFetchResult.None, read!.Result);
        Assert.Equal(0, await ResumedEventsOfAsync("waiting"));
        Assert.DoesNotContain(Origin.Requests, static r => r.PathAndQuery.StartsWith("/files/waiting", StringComparison.Ordinal));

        // The runner's end gives the turn to the parked registration: it resumes for that, once, and ends byte-exact,
        // never having parked a second time.
        using (var abort = await node.Client.PostAsync(new Uri("v1/registrations/runner/abort", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.OK, abort.StatusCode);
        }

        var settled = await node.Client.WaitForSettledAsync("waiting", Deadline);
        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        Assert.Equal(100_000, settled.Downloaded);
        Assert.Equal(1, await ResumedEventsOfAsync("waiting"));
        Assert.Matches(ParkedOnce(), await node.Client.GetStringAsync(new Uri("metrics", UriKind.Relative)));
    }

    /// <summary>The resume markers (<c>bgfetch.registration.resumed.v1</c>) in the journal of the registration <paramref name="id"/>.</summary>
    private async Task<long> ResumedEventsOfAsync(string id)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data.Path, "journal.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {Journal.Table} WHERE persistence_id LIKE 'registration-%/' || $id || '/%' AND manifest = 'bgfetch.registration.resumed.v1'";
        command.Parameters.AddWithValue("$id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForMetricAsync(NodeProcess node, Regex wanted, string what)
    {
        var text = "";
        await WaitUntilAsync(
            async () =>
            {
                text = await node.Client.GetStringAsync(new Uri("metrics", UriKind.Relative));
                return wanted.IsMatch(text);
            },
            what);
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"^bgfetch_registrations_parked_total(\{[^}]*\})? 1\b", RegexOptions.Multiline)]
    private static partial Regex ParkedOnce();

    [GeneratedRegex(@"^bgfetch_failover_restarts_total(\{[^}]*\})? [1-9]", RegexOptions.Multiline)]
    private static partial Regex FailoverCounted();
}
