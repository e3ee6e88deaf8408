using System.Text.Json;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Cli.Tests;

/// <summary>The <c>bgfetch</c> commands, run in process (<see cref="BgFetchCli.RunAsync"/>) against a real node process.</summary>
public sealed class BgFetchToolTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private sealed record Run(int ExitCode, string Output, string Error)
    {
        public JsonElement Json => JsonDocument.Parse(Output).RootElement;

        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    private async Task<Run> RunAsync(string key, params string[] args) => await RunAsync(key, CancellationToken.None, args);

    private async Task<Run> RunAsync(string key, CancellationToken cancellationToken, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await BgFetchCli.RunAsync([.. args, "--node", fixture.Node.BaseUrl, "--api-key", key], output, error, cancellationToken);
        return new Run(exit, output.ToString(), error.ToString());
    }

    private Task<Run> Admin(params string[] args) => RunAsync(NodeFixture.AdminKey, args);

    private Task<Run> Fetch(params string[] args) => RunAsync(NodeFixture.ApiKey, args);

    [Fact]
    public async Task ClusterShow_ListsTheNodeAsAnUpLeader()
    {
        var table = await Admin("cluster", "show");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("Up", table.Output, StringComparison.Ordinal);
        Assert.Contains("leader", table.Output, StringComparison.Ordinal);
        Assert.Contains("akka.tcp://bgfetch@", table.Output, StringComparison.Ordinal);

        var json = await Admin("cluster", "show", "--output", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var member = Assert.Single(json.Json.GetProperty("members").EnumerateArray());
        Assert.Equal("Up", member.GetProperty("status").GetString());
        Assert.Equal(json.Json.GetProperty("leader").GetString(), member.GetProperty("address").GetString());
    }

    [Fact]
    public async Task ClusterShow_WithAScopeKeyInsteadOfAnAdminKey_PrintsNotAllowedErrorAndFails()
    {
        var run = await Fetch("cluster", "show");
        Assert.Equal(BgFetchCli.ErrorExitCode, run.ExitCode);
        Assert.StartsWith("NotAllowedError: ", run.Error, StringComparison.Ordinal);
        Assert.Equal("", run.Output);
    }

    [Fact]
    public async Task ClusterLeave_OfAnUnknownMember_PrintsNotFoundError()
    {
        var run = await Admin("cluster", "leave", "akka.tcp://bgfetch@10.255.255.1:4053", "--output", "json");
        Assert.Equal(BgFetchCli.ErrorExitCode, run.ExitCode);
        Assert.Equal("NotFoundError", run.Json.GetProperty("name").GetString());
        Assert.Contains("not a member", run.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var malformed = await Admin("cluster", "down", "not-an-address");
        Assert.Equal(BgFetchCli.ErrorExitCode, malformed.ExitCode);
        Assert.StartsWith("TypeError: ", malformed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterTail_PrintsTheMembersUntilCancelled()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var run = await RunAsync(NodeFixture.AdminKey, cancel.Token, "cluster", "tail");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"akka\.tcp://bgfetch@\S+ \(new\) -> Up", run.Output);
    }

    [Fact]
    public async Task ClusterSharding_ShowsTheRegionsAndTheirShards()
    {
        await CreateAndWatchAsync("sharding-" + Guid.NewGuid().ToString("N")[..8], "size=1000");
        var regions = await Admin("cluster-sharding", "regions", "--output", "json");
        Assert.True(regions.ExitCode == 0, regions.ToString());
        var types = regions.Json.GetProperty("regions").EnumerateArray().Select(static r => r.GetProperty("typeName").GetString()!).ToList();
        Assert.True(types.Count >= 2, regions.ToString());

        var scopeIndex = regions.Json.GetProperty("regions").EnumerateArray().First(static r => r.GetProperty("entities").GetInt32() > 0).GetProperty("typeName").GetString()!;
        var regionStats = await Admin("cluster-sharding", "region-stats", scopeIndex, "--output", "json");
        Assert.True(regionStats.ExitCode == 0, regionStats.ToString());
        var node = Assert.Single(regionStats.Json.GetProperty("nodes").EnumerateArray());
        Assert.True(node.GetProperty("shards").GetInt32() >= 1, regionStats.ToString());

        var shardStats = await Admin("cluster-sharding", "shard-stats", scopeIndex);
        Assert.True(shardStats.ExitCode == 0, shardStats.ToString());
        Assert.Contains("akka.tcp://bgfetch@", shardStats.Output, StringComparison.Ordinal);

        var unknown = await Admin("cluster-sharding", "shard-stats", "no-such-type");
        Assert.Equal(BgFetchCli.ErrorExitCode, unknown.ExitCode);
        Assert.StartsWith("NotFoundError: ", unknown.Error, StringComparison.Ordinal);

        var table = await Admin("cluster-sharding", "regions");
        Assert.Contains(scopeIndex, table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_CreateWatchRecordsBodyRelease_RunsARegistrationThroughItsLife()
    {
        var id = "life-" + Guid.NewGuid().ToString("N")[..8];
        var watch = await CreateAndWatchAsync(id, "size=200000");
        Assert.Contains($"{id}: success, 200000 bytes downloaded", watch.Output, StringComparison.Ordinal);

        var show = await Fetch("fetch", "show", id, "--output", "json");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Equal("success", show.Json.GetProperty("result").GetString());
        Assert.Equal("Life", show.Json.GetProperty("title").GetString());

        var records = await Fetch("fetch", "records", id);
        Assert.True(records.ExitCode == 0, records.ToString());
        Assert.Contains("success", records.Output, StringComparison.Ordinal);
        Assert.Contains("200000", records.Output, StringComparison.Ordinal);

        var file = Path.Combine(Path.GetTempPath(), $"bgfetch-cli-{id}.bin");
        try
        {
            var body = await Fetch("fetch", "body", id, "0", "-o", file, "--output", "json");
            Assert.True(body.ExitCode == 0, body.ToString());
            Assert.Equal(200000, body.Json.GetProperty("bytes").GetInt64());
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.Equal(TestOrigin.Sha256Of(200000), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        }
        finally
        {
            File.Delete(file);
        }

        var release = await Fetch("fetch", "release", id);
        Assert.True(release.ExitCode == 0, release.ToString());
        Assert.Contains("released", release.Output, StringComparison.Ordinal);

        var gone = await Fetch("fetch", "show", id);
        Assert.Equal(BgFetchCli.ErrorExitCode, gone.ExitCode);
        Assert.StartsWith("NotFoundError: ", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchWatch_OfAFailingRegistration_ExitsWith1()
    {
        var id = "fails-" + Guid.NewGuid().ToString("N")[..8];
        var create = await Fetch("fetch", "create", id, fixture.Origin.BaseUrl + "files/missing?status=404", "--output", "json");
        Assert.True(create.ExitCode == 0, create.ToString());

        var watch = await Fetch("fetch", "watch", id, "--output", "json");
        Assert.True(watch.ExitCode == 1, watch.ToString());
        var last = watch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        using var terminal = JsonDocument.Parse(last);
        Assert.Equal("backgroundfetchfail", terminal.RootElement.GetProperty("event").GetString());
        Assert.Equal("bad-status", terminal.RootElement.GetProperty("registration").GetProperty("failureReason").GetString());
    }

    [Fact]
    public async Task FetchListAndAbort_ShowAnActiveRegistrationOfEveryScopeAndAbortIt()
    {
        var id = "slow-" + Guid.NewGuid().ToString("N")[..8];
        var create = await Fetch("fetch", "create", id, fixture.Origin.BaseUrl + "files/slow?size=100000000&rate=100000", "--download-total", "100000000");
        Assert.True(create.ExitCode == 0, create.ToString());

        var list = await Admin("fetch", "list", "--output", "json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var row = list.Json.GetProperty("registrations").EnumerateArray().Single(r => r.GetProperty("id").GetString() == id);
        Assert.Equal(NodeFixture.Scope, row.GetProperty("scope").GetString());
        var table = await Admin("fetch", "list");
        Assert.Contains(id, table.Output, StringComparison.Ordinal);

        var abort = await Fetch("fetch", "abort", id, "--output", "json");
        Assert.True(abort.ExitCode == 0, abort.ToString());
        Assert.True(abort.Json.GetProperty("aborted").GetBoolean(), abort.ToString());
        var watch = await Fetch("fetch", "watch", id);
        Assert.Equal(1, watch.ExitCode);
        Assert.Contains("failure (aborted)", watch.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchShow_OfAnUnknownId_PrintsTheProblemAndJsonOnlyWithOutputJson()
    {
        var table = await Fetch("fetch", "show", "no-such-id");
        Assert.Equal(BgFetchCli.ErrorExitCode, table.ExitCode);
        Assert.StartsWith("NotFoundError: ", table.Error, StringComparison.Ordinal);

        var json = await Fetch("fetch", "show", "no-such-id", "--output", "json");
        Assert.Equal(BgFetchCli.ErrorExitCode, json.ExitCode);
        Assert.Equal("NotFoundError", json.Json.GetProperty("name").GetString());
        Assert.Equal("", json.Error);
    }

    [Fact]
    public async Task FetchShow_AfterUpdateUI_ShowsTheNewTitle()
    {
        var id = "ui-" + Guid.NewGuid().ToString("N")[..8];
        await CreateAndWatchAsync(id, "size=100");
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Node.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", NodeFixture.ApiKey);
        var registration = await new BgFetchCluster.Client.BackgroundFetchManager(http).GetAsync(id);

        await registration!.UpdateUIAsync("Life, updated");
        var show = await Fetch("fetch", "show", id);
        var json = await Fetch("fetch", "show", id, "--output", "json");

        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("Life, updated", show.Output, StringComparison.Ordinal);
        Assert.Equal("Life, updated", json.Json.GetProperty("title").GetString());
    }

    private async Task<Run> CreateAndWatchAsync(string id, string query)
    {
        var create = await Fetch("fetch", "create", id, fixture.Origin.BaseUrl + "files/" + id + "?" + query, "--title", "Life");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Contains(id, create.Output, StringComparison.Ordinal);
        var watch = await Fetch("fetch", "watch", id);
        Assert.True(watch.ExitCode == 0, watch.ToString());
        return watch;
    }
}
