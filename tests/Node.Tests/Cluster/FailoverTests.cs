using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BgFetchCluster.Node.Tests.Cluster;

/// <summary>
/// Losing a node of a three-node cluster in the middle of downloads (docs/architecture.md, "Failure model"): kill -9, SIGTERM,
/// a rolling restart of every node, and an operator's leave and down. No registration fails and every body ends
/// byte-exact; moved downloads resume with Range from their checkpoints. Each test has its own cluster.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Registrations = 6;
    private const long Size = 12L * 1024 * 1024;
    private const long Rate = 1024 * 1024;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(180);
    private TestOrigin _origin = null!;
    private TestCluster? _cluster;

    public async Task InitializeAsync() => _origin = await TestOrigin.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task KillNine_OfANodeMidDownload_ItsRegistrationsResumeOnTheSurvivorsWithRange_AndEndByteExact()
    {
        var cluster = _cluster = await TestCluster.StartAsync(3);
        await CreateDownloadsAsync(cluster, "kill");
        var victim = await BusiestNodeAsync(cluster);
        var rangedBefore = RangedRequests("kill");

        await cluster.KillAsync(victim);
        var resumedAfter = await WaitForAsync(() => Task.FromResult(RangedRequests("kill") > rangedBefore), "a moved download to resume with Range", TimeSpan.FromSeconds(60));
        output.WriteLine($"killed node {victim}; the first moved download resumed with Range {resumedAfter.TotalSeconds:F1} s after the kill");

        await AssertAllSucceededByteExactAsync(cluster, "kill");

        // Akka's failure detector and the Split Brain Resolver are set so this takes about 10 s on loopback (FetchHocon);
        // the bound here leaves room for a loaded CI machine without letting a broken failover pass.
        Assert.True(resumedAfter < TimeSpan.FromSeconds(30), $"resumed {resumedAfter.TotalSeconds:F1} s after the kill");
        await cluster.WaitForMembersAsync(2);
    }

    [Fact]
    public async Task SigTerm_OfANodeMidDownload_HandsItsShardsOff_AndNoRegistrationFails()
    {
        var cluster = _cluster = await TestCluster.StartAsync(3);
        await CreateDownloadsAsync(cluster, "term");
        var victim = await BusiestNodeAsync(cluster);
        var survivor = cluster[(victim + 1) % cluster.Size].Client;
        var before = new long[Registrations];
        for (var i = 0; i < Registrations; i++)
        {
            before[i] = (await survivor.GetRegistrationAsync($"term{i}"))!.Downloaded;
        }

        await cluster.TerminateAsync(victim);

        await AssertAllSucceededByteExactAsync(cluster, "term");
        Assert.True(RangedRequests("term") >= 1, "the handed-off downloads should resume with Range");

        // The moved records checkpointed what they had stored when their registration was handed off, so each resumes
        // at or past what it had downloaded before the SIGTERM, not from an older periodic checkpoint.
        for (var i = 0; i < Registrations; i++)
        {
            foreach (var range in _origin.Requests.Where(r => r.PathAndQuery.StartsWith($"/files/term{i}.bin", StringComparison.Ordinal) && r.Range is not null))
            {
                var resumedAt = long.Parse(range.Range!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(resumedAt >= before[i], $"term{i} resumed at {resumedAt}, before the hand-off {before[i]} bytes were stored");
            }
        }

        await cluster.WaitForMembersAsync(2);
    }

    [Fact]
    public async Task RollingRestart_OfEveryNode_FailsNoRegistration_AndLosesNoByte()
    {
        var cluster = _cluster = await TestCluster.StartAsync(3);
        await CreateDownloadsAsync(cluster, "roll");

        for (var slot = 0; slot < cluster.Size; slot++)
        {
            await cluster.TerminateAsync(slot);
            await cluster.StartNodeAsync(slot);

            // A restarted seed joins the running cluster rather than forming an island of its own.
            await cluster.WaitForMembersAsync(3);
        }

        await AssertAllSucceededByteExactAsync(cluster, "roll");
    }

    [Fact]
    public async Task AdminLeaveThenDown_RemoveTheMembers_AndTheirProcessesEnd()
    {
        var cluster = _cluster = await TestCluster.StartAsync(3);
        var leaving = cluster[2];

        using (var left = await cluster[0].Client.PostAsJsonAsync(new Uri("v1/admin/cluster/leave", UriKind.Relative), new { address = cluster.AddressOf(2) }))
        {
            Assert.Equal(HttpStatusCode.Accepted, left.StatusCode);
        }

        // While it leaves (its HTTP still up), the node is no longer ready; then its process ends.
        await WaitForAsync(async () => leaving.HasExited || await NotReadyAsync(leaving), "the leaving node to answer /ready with 503", TimeSpan.FromSeconds(60));
        await WaitForAsync(() => Task.FromResult(leaving.HasExited), "the node that left to end its process", TimeSpan.FromSeconds(60));
        await WaitForMembersSeenByAsync(cluster[0], 2);

        var downed = cluster[1];
        using (var down = await cluster[0].Client.PostAsJsonAsync(new Uri("v1/admin/cluster/down", UriKind.Relative), new { address = cluster.AddressOf(1) }))
        {
            Assert.Equal(HttpStatusCode.Accepted, down.StatusCode);
        }

        await WaitForAsync(() => Task.FromResult(downed.HasExited), "the downed node to end its process", TimeSpan.FromSeconds(60));
        await WaitForMembersSeenByAsync(cluster[0], 1);
    }

    private async Task CreateDownloadsAsync(TestCluster cluster, string prefix)
    {
        for (var i = 0; i < Registrations; i++)
        {
            var url = $"{_origin.BaseUrl}files/{prefix}{i}.bin?size={Size}&rate={Rate}";
            using var created = await cluster[i % cluster.Size].Client.CreateAsync(new { id = $"{prefix}{i}", requests = new[] { url } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // Past the first checkpoints (every 2 s), well before the end.
        for (var i = 0; i < Registrations; i++)
        {
            await cluster[0].Client.WaitForAsync($"{prefix}{i}", static r => r.Downloaded >= 3L * 1024 * 1024, "3 MiB downloaded", TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>The slot of the node that hosts the most registration entities, from the admin API's sharding stats.</summary>
    private static async Task<int> BusiestNodeAsync(TestCluster cluster)
    {
        var sharding = await cluster[0].Client.GetFromJsonAsync(new Uri("v1/admin/sharding", UriKind.Relative), ApiJsonContext.Default.ShardingBody);
        var busiest = sharding!.Regions.Single(static r => r.TypeName == "registration").Shards
            .GroupBy(static s => s.Address)
            .OrderByDescending(static g => g.Sum(static s => s.Entities))
            .First();
        Assert.True(busiest.Sum(static s => s.Entities) > 0, "some node should host a registration");
        return cluster.SlotOf(busiest.Key);
    }

    private async Task AssertAllSucceededByteExactAsync(TestCluster cluster, string prefix)
    {
        var client = cluster.Running.First().Client;
        for (var i = 0; i < Registrations; i++)
        {
            var settled = await client.WaitForSettledAsync($"{prefix}{i}", Settle);
            Assert.True(settled.Result == BackgroundFetchResult.Success, $"{prefix}{i} settled {settled}");
            Assert.Equal(Size, settled.Downloaded);
            var record = Assert.Single(await client.MatchAllAsync($"{prefix}{i}"));
            Assert.Equal(TestOrigin.Sha256Of(Size), record.Response!.Sha256);
        }

        using var body = await client.GetAsync(new Uri($"v1/registrations/{prefix}0/records/0/body", UriKind.Relative));
        Assert.Equal(TestOrigin.Sha256Of(Size), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await body.Content.ReadAsByteArrayAsync())));
    }

    private static async Task<bool> NotReadyAsync(NodeProcess node)
    {
        try
        {
            using var ready = await node.Client.GetAsync(new Uri("ready", UriKind.Relative));
            return ready.StatusCode == HttpStatusCode.ServiceUnavailable;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private int RangedRequests(string prefix) =>
        _origin.Requests.Count(r => r.PathAndQuery.StartsWith("/files/" + prefix, StringComparison.Ordinal) && r.Range is not null);

    private static async Task WaitForMembersSeenByAsync(NodeProcess node, int count)
    {
        await WaitForAsync(
            async () => (await node.Client.GetFromJsonAsync(new Uri("v1/admin/cluster", UriKind.Relative), ApiJsonContext.Default.ClusterBody))!.Members.Count == count,
            $"{count} members",
            TimeSpan.FromSeconds(60));
    }

    private static async Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Expected {what} within {timeout.TotalSeconds} s.");
            }

            await Task.Delay(100);
        }

        return clock.Elapsed;
    }
}
