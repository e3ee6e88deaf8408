using System.Diagnostics;
using System.Net;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// The database goes away while a node works (issue 19.2, docs/architecture.md "Failure model"): a node process on a PostgreSQL
/// server of the test's own (<see cref="PrivatePostgres"/>), stopped for a while in the middle of a download and of
/// creations. Downloads pause and finish byte-exact, creations answer 503 <c>UnavailableError</c> with Retry-After (or
/// succeed), never 500, and <c>/ready</c> is 503 while the database is down and 200 after.
/// </summary>
public class StoreOutageTests(ITestOutputHelper output) : NodeProcessTests
{
    private const long Size = 24L * 1024 * 1024;
    private const long Rate = 2L * 1024 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Outage_OfAFewSeconds_DownloadSucceedsByteExact_CreatesAnswer503NeverA500_AndReadyFollowsTheDatabase()
    {
        await using var postgres = await PrivatePostgres.StartAsync(maxConnections: 30);
        var (node, results) = await RunOutageAsync(postgres, "short", TimeSpan.FromSeconds(8), outageTolerance: null);
        await using (node)
        {
            Assert.All(results, r => Assert.True(r.Status is 201 or 503, $"a create during the outage answered {r}"));
            Assert.All(results.Where(static r => r.Status == 503), r => Assert.True(r.RetryAfter is not null && r.Name == "UnavailableError", $"a 503 without Retry-After or UnavailableError: {r}"));
            Assert.All(results, r => Assert.True(r.Elapsed < RequestTimeout + TimeSpan.FromSeconds(3), $"a create waited past BgFetch:Http:RequestTimeout: {r}"));
        }
    }

    [Fact]
    public async Task Outage_LongerThanTheOutageTolerance_NothingFailsOrIsCorrupted_AndTheDownloadFinishesWhenTheDatabaseIsBack()
    {
        await using var postgres = await PrivatePostgres.StartAsync(maxConnections: 30);
        var (node, results) = await RunOutageAsync(postgres, "long", TimeSpan.FromSeconds(15), outageTolerance: TimeSpan.FromSeconds(3));
        await using (node)
        {
            Assert.All(results, r => Assert.True(r.Status is 201 or 503, $"a create during the outage answered {r}"));
        }
    }

    [Fact]
    public async Task Create_WhileTheNodeKnowsItsStoreIsDown_Answers503AtOnce_ReadsStillWork_AndTheIdIsFreeOnceTheDatabaseIsBack()
    {
        // The request timeout is long on purpose: a creation that waited for it could not answer within the bound below.
        var requestTimeout = TimeSpan.FromSeconds(30);
        var fastBound = TimeSpan.FromSeconds(10);
        await using var postgres = await PrivatePostgres.StartAsync(maxConnections: 30);
        await postgres.CreateDatabaseAsync("bgfetch");
        await using var node = await StartNodeAsync(
        [
            "--BgFetch:Storage:Provider=PostgreSql",
            $"--BgFetch:Storage:ConnectionString={postgres.ConnectionStringFor("bgfetch")}",
            "--BgFetch:Storage:Bodies=PostgreSql",
            $"--BgFetch:Http:RequestTimeout={requestTimeout}",
            .. JournalSettings(),
        ]);
        var client = node.Client;

        // A throttled download keeps the body store writing, so the bodies store is in an outage (retrying) while the database is away.
        using (var created = await client.CreateAsync(new { id = "known-slow", requests = new[] { $"{Origin.BaseUrl}files/known-slow.bin?size={Size}&rate={Rate}" } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await client.WaitForAsync("known-slow", static r => r.Downloaded >= 2L * 1024 * 1024, "2 MiB downloaded", TimeSpan.FromSeconds(60));

        await postgres.StopAsync();

        // The node has seen the outage once /ready has (its probe reports to the node's store health), or the download's writes.
        await WaitForReadyAsync(client, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20));
        var during = await CreateAsync(client, "known-during", Origin);
        Assert.True(
            during.Status == 503 && during.Name == "UnavailableError" && during.RetryAfter is not null,
            $"a create during a known outage answered {during}, not 503 UnavailableError with Retry-After");
        Assert.True(
            during.Elapsed < fastBound,
            $"a create during a known outage took {during.Elapsed.TotalSeconds:F1} s: it waited for the store (RequestTimeout {requestTimeout.TotalSeconds} s) instead of answering at once");

        // A read the registration's entity answers from memory needs no store.
        using (var read = await client.GetAsync(new Uri("v1/registrations/known-slow", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        await WaitForMetricsAsync(
            client,
            [
                @"^bgfetch_http_unavailable_total\{[^}]*reason=""store""[^}]*\} [1-9]",
                @"^bgfetch_stores_unavailable\{[^}]*store=""bodies""[^}]*\} 1\b",
                @"^bgfetch_store_retries_total\{[^}]*store=""bodies""[^}]*\} [1-9]",
            ],
            "during the outage");

        await postgres.StartAgainAsync();
        await WaitForReadyAsync(client, HttpStatusCode.OK, TimeSpan.FromSeconds(90));

        // The 503 changed nothing: the id it was refused is free, and the creation succeeds now.
        var after = await CreateAsync(client, "known-during", Origin);
        Assert.True(after.Status == 201, $"a create with the id refused during the outage answered {after} once the database was back; the node's log:\n{node.Output[^Math.Min(node.Output.Length, 12000)..]}");
        await WaitForMetricsAsync(client, [@"^bgfetch_stores_unavailable\{[^}]*store=""bodies""[^}]*\} 0\b"], "after the outage");
        output.WriteLine($"create during the known outage: {during}; after: {after}");
        using var aborted = await client.PostAsync(new Uri("v1/registrations/known-slow/abort", UriKind.Relative), null);
    }

    /// <summary>
    /// What the journal needs beside <see cref="NodeProcessTests.Journal"/>'s settings: Akka.Persistence.Sql's journal tells
    /// itself a WriteFinished carrying the write's Task after every write, which the tests' serialize-messages verification
    /// cannot serialize and drops. Production never serializes node-local messages.
    /// </summary>
    private string[] JournalSettings() => Journal == StoredJournal.AkkaSql ? ["--akka:actor:serialize-messages=off"] : [];

    /// <summary>Polls <c>/metrics</c> until every pattern matches a line.</summary>
    private static async Task WaitForMetricsAsync(HttpClient client, string[] patterns, string when)
    {
        var timeout = TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        var text = "";
        string[] missing;
        do
        {
            text = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
            missing = [.. patterns.Where(pattern => !System.Text.RegularExpressions.Regex.IsMatch(text, pattern, System.Text.RegularExpressions.RegexOptions.Multiline))];
            if (missing.Length == 0)
            {
                return;
            }

            await Task.Delay(200);
        }
        while (clock.Elapsed < timeout);

        var lines = string.Join('\n', text.Split('\n').Where(static line => line.StartsWith("bgfetch_", StringComparison.Ordinal)));
        Assert.Fail($"/metrics did not show {string.Join(", ", missing)} {when} within {timeout.TotalSeconds} s:\n{lines}");
    }

    /// <summary>
    /// Starts a node on <paramref name="postgres"/>, starts a throttled download, stops the database for
    /// <paramref name="outage"/> while creating registrations, starts it again, and checks the download ends byte-exact.
    /// </summary>
    private async Task<(NodeProcess Node, List<CreateResult> Results)> RunOutageAsync(PrivatePostgres postgres, string prefix, TimeSpan outage, TimeSpan? outageTolerance)
    {
        await postgres.CreateDatabaseAsync("bgfetch");
        List<string> settings =
        [
            "--BgFetch:Storage:Provider=PostgreSql",
            $"--BgFetch:Storage:ConnectionString={postgres.ConnectionStringFor("bgfetch")}",
            "--BgFetch:Storage:Bodies=PostgreSql",
            $"--BgFetch:Http:RequestTimeout={RequestTimeout}",
        ];
        if (outageTolerance is { } tolerance)
        {
            settings.Add($"--BgFetch:Storage:OutageTolerance={tolerance}");

            // Past the tolerance, journal writes fail, and Akka's journal answers the writer with a message that carries
            // the exception; the tests' serialize-messages verification cannot serialize that (Newtonsoft on an
            // NpgsqlException) and swallows the answer, so the writer would wait for it forever. Production never
            // serializes node-local messages.
            settings.Add("--akka:actor:serialize-messages=off");
        }
        else
        {
            settings.AddRange(JournalSettings());
        }

        var node = await StartNodeAsync([.. settings]);
        var client = node.Client;
        using (var created = await client.CreateAsync(new { id = prefix, requests = new[] { $"{Origin.BaseUrl}files/{prefix}.bin?size={Size}&rate={Rate}" } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await client.WaitForAsync(prefix, static r => r.Downloaded >= 4L * 1024 * 1024, "4 MiB downloaded", TimeSpan.FromSeconds(60));

        var clock = Stopwatch.StartNew();
        await postgres.StopAsync();
        var stopped = clock.Elapsed;
        var notReadyAfter = await WaitForReadyAsync(client, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20));

        var results = new List<CreateResult>();
        for (var n = 0; clock.Elapsed - stopped < outage; n++)
        {
            var result = await CreateAsync(client, $"{prefix}-during{n}", Origin);
            results.Add(result);
            if (result.Status == 503)
            {
                // Pacing, not waiting for a condition: the node answers 503 at once during a known outage, and a client
                // that did not back off (as Retry-After asks) would only flood it.
                await Task.Delay(250);
            }
        }

        await postgres.StartAgainAsync();
        var restarted = clock.Elapsed;
        TimeSpan readyAfter;
        try
        {
            readyAfter = await WaitForReadyAsync(client, HttpStatusCode.OK, TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nThe node's log:\n{node.Output[^Math.Min(node.Output.Length, 20000)..]}", e);
        }

        RegistrationView settled;
        try
        {
            settled = await client.WaitForSettledAsync(prefix, TimeSpan.FromSeconds(180));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nThe node's log:\n{node.Output[^Math.Min(node.Output.Length, 30000)..]}", e);
        }

        var settledAfter = clock.Elapsed - restarted;
        Assert.True(settled.Result == BackgroundFetchResult.Success, $"the download settled {settled} after an outage of {restarted - stopped}:\n{node.Output[^Math.Min(node.Output.Length, 8000)..]}");
        Assert.Equal(Size, settled.Downloaded);
        var record = Assert.Single(await client.MatchAllAsync(prefix));
        Assert.Equal(TestOrigin.Sha256Of(Size), record.Response!.Sha256);
        using (var body = await client.GetAsync(new Uri($"v1/registrations/{prefix}/records/0/body", UriKind.Relative)))
        {
            Assert.Equal(TestOrigin.Sha256Of(Size), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await body.Content.ReadAsByteArrayAsync())));
        }

        // Once the database is back, creations succeed again, the ids of those that answered 503 included: their
        // reservations were given back, so nothing of them was left behind.
        var after = await CreateAsync(client, $"{prefix}-after", Origin);
        Assert.True(after.Status == 201, $"a create after the outage answered {after}");
        var again = await CreateAsync(client, $"{prefix}-during0", Origin);
        Assert.True(again.Status == 201 || results[0].Status == 201, $"a create with the id of one that answered 503 during the outage answered {again}");

        output.WriteLine($"outage of {(restarted - stopped).TotalSeconds:F1} s (tolerance {outageTolerance?.TotalSeconds ?? 60} s): /ready 503 {notReadyAfter.TotalSeconds:F1} s after the stop, 200 {readyAfter.TotalSeconds:F1} s after the restart; download settled {settledAfter.TotalSeconds:F1} s after the restart; ranged requests {Origin.RangedRequestsFor(prefix + ".bin")}");
        foreach (var result in results)
        {
            output.WriteLine($"  create during the outage: {result}");
        }

        return (node, results);
    }

    private static async Task<CreateResult> CreateAsync(HttpClient client, string id, TestOrigin origin)
    {
        var clock = Stopwatch.StartNew();
        using var response = await client.CreateAsync(new { id, requests = new[] { $"{origin.BaseUrl}files/{id}.bin?size=1024" } });
        var text = await response.Content.ReadAsStringAsync();
        string? name = null;
        if (!response.IsSuccessStatusCode && text.Length > 0)
        {
            name = JsonDocument.Parse(text).RootElement.TryGetProperty("name", out var n) ? n.GetString() : null;
        }

        return new CreateResult((int)response.StatusCode, name, response.Headers.RetryAfter?.ToString(), clock.Elapsed);
    }

    /// <summary>Polls <c>/ready</c> until it answers <paramref name="status"/>; returns how long that took.</summary>
    private static async Task<TimeSpan> WaitForReadyAsync(HttpClient client, HttpStatusCode status, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var last = "nothing";
        while (clock.Elapsed < timeout)
        {
            using var ready = await client.GetAsync(new Uri("ready", UriKind.Relative));
            if (ready.StatusCode == status)
            {
                return clock.Elapsed;
            }

            last = $"{(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}";
            await Task.Delay(100);
        }

        throw new TimeoutException($"Expected /ready to answer {(int)status} within {timeout.TotalSeconds} s; last: {last}");
    }

    /// <summary>What one create answered, and how long it took.</summary>
    private sealed record CreateResult(int Status, string? Name, string? RetryAfter, TimeSpan Elapsed);
}

/// <summary>
/// <see cref="StoreOutageTests"/> on Akka.Persistence.Sql (<c>BgFetch:Storage:Journal=AkkaSql</c>): its journal and snapshot
/// store retry transient errors too (<c>ResilientSqlJournal</c>), so the outage is waited out the same way.
/// </summary>
public sealed class AkkaSqlStoreOutageTests(ITestOutputHelper output) : StoreOutageTests(output)
{
    /// <inheritdoc />
    protected override StoredJournal Journal => StoredJournal.AkkaSql;
}
