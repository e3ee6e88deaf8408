using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests.Cluster;

/// <summary>
/// Three real node processes on one PostgreSQL database: membership, and every call of the API answered by any
/// node for a registration that another node owns (docs/api.md, docs/architecture.md "Any node answers any call").
/// </summary>
public sealed class AnyNodeTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);
    private readonly TestCluster _cluster = fixture.Cluster;
    private readonly TestOrigin _origin = fixture.Origin;

    [Fact]
    public async Task Members_AreUp_AndEveryNodeSeesTheSameLeader()
    {
        var views = await Task.WhenAll(_cluster.Running.Select(static n => n.Client.GetFromJsonAsync(new Uri("v1/admin/cluster", UriKind.Relative), ApiJsonContext.Default.ClusterBody)));

        Assert.All(views, view => Assert.Equal(3, view!.Members.Count(static m => m.Status == "Up" && m.Reachable)));
        Assert.Single(views.Select(static v => v!.Leader).Distinct());
        Assert.NotNull(views[0]!.Leader);
        Assert.Equal(Enumerable.Range(0, 3).Select(_cluster.AddressOf).Order(), views.Select(static v => v!.Self).Order());
        Assert.Equal([1, 2, 3], views[0]!.Members.Select(static m => m.UpNumber).Order());
    }

    [Fact]
    public async Task Registration_CreatedThroughOneNode_IsServedByEveryNode_BodiesAndRangesIncluded()
    {
        const long Size = 300_000;
        var url = $"{_origin.BaseUrl}files/any.bin?size={Size}";
        using (var created = await _cluster[0].Client.CreateAsync(new { id = "any", requests = new[] { url, url + "&second=1" } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var expected = TestOrigin.Sha256Of(Size);
        var servedBy = new HashSet<string>();
        foreach (var node in _cluster.Running)
        {
            var settled = await node.Client.WaitForSettledAsync("any", Settle);
            Assert.Equal(BackgroundFetchResult.Success, settled.Result);
            Assert.Equal(2 * Size, settled.Downloaded);
            var records = await node.Client.MatchAllAsync("any");
            Assert.Equal(2, records.Count);
            Assert.All(records, r => Assert.Equal(expected, r.Response!.Sha256));

            using var body = await node.Client.GetAsync(new Uri("v1/registrations/any/records/1/body", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, body.StatusCode);
            Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await body.Content.ReadAsByteArrayAsync())));
            servedBy.Add(body.Headers.GetValues("X-BgFetch-Node").Single());

            using var range = new HttpRequestMessage(HttpMethod.Get, new Uri("v1/registrations/any/records/0/body", UriKind.Relative));
            range.Headers.Range = new RangeHeaderValue(1000, 1099);
            using var partial = await node.Client.SendAsync(range);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(Enumerable.Range(1000, 100).Select(static i => TestOrigin.ByteAt(i)), await partial.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(Enumerable.Range(0, 3).Select(_cluster.AddressOf).Order(), servedBy.Order());
    }

    [Fact]
    public async Task ConcurrentCreations_OfOneId_ThroughDifferentNodes_ExactlyOneWins()
    {
        for (var round = 0; round < 5; round++)
        {
            var id = $"race-{round}";
            // Active for 100 s (aborted below): a winner that settled before a slow node's creation reached the index
            // would free the id, and that creation would rightly win too (seen in CI with a 1 s download under load).
            var url = $"{_origin.BaseUrl}files/race.bin?size=100000&rate=1000";
            var answers = await Task.WhenAll(_cluster.Running.Select(node => node.Client.CreateAsync(new { id, requests = new[] { url } })));

            Assert.Equal(1, answers.Count(static a => a.StatusCode == HttpStatusCode.Created));
            Assert.Equal(2, answers.Count(static a => a.StatusCode == HttpStatusCode.Conflict));
            foreach (var answer in answers)
            {
                answer.Dispose();
            }

            using var aborted = await _cluster[2].Client.PostAsync(new Uri($"v1/registrations/{id}/abort", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.OK, aborted.StatusCode);
        }
    }

    [Fact]
    public async Task ProgressEvents_ReachASubscriberOnAnotherNode_ThenTheTerminalEvent()
    {
        var url = $"{_origin.BaseUrl}files/events.bin?size=2000000&rate=1000000";
        using (var created = await _cluster[0].Client.CreateAsync(new { id = "events", requests = new[] { url } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var events = await _cluster[2].Client.ReadEventsAsync("events", Settle);

        Assert.True(events.Count(static e => e.Event == "progress") >= 3, $"expected progress while it downloads, got {string.Join(", ", events.Select(static e => e.Event))}");
        Assert.Equal("backgroundfetchsuccess", events[^1].Event);
        Assert.Single(events, static e => e.Event.StartsWith("backgroundfetch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AbortAndRelease_ThroughOtherNodes_TakeEffectEverywhere()
    {
        var url = $"{_origin.BaseUrl}files/slow.bin?size=50000000&rate=1000000";
        using (var created = await _cluster[1].Client.CreateAsync(new { id = "abort", requests = new[] { url } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var aborted = await _cluster[2].Client.PostAsync(new Uri("v1/registrations/abort/abort", UriKind.Relative), null))
        {
            Assert.True((await aborted.Content.ReadFromJsonAsync(ApiJsonContext.Default.AbortBody))!.Aborted);
        }

        var settled = await _cluster[0].Client.WaitForSettledAsync("abort", Settle);
        Assert.Equal(BackgroundFetchFailureReason.Aborted, settled.FailureReason);
        using (var released = await _cluster[0].Client.DeleteAsync(new Uri("v1/registrations/abort", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
        }

        foreach (var node in _cluster.Running)
        {
            Assert.Null(await node.Client.GetRegistrationAsync("abort"));
        }
    }

    [Fact]
    public async Task AdminApi_ShowsBothRegions_AndTheRegistrationsOfEveryScope_WithTheirScope()
    {
        var url = $"{_origin.BaseUrl}files/admin.bin?size=50000000&rate=1000000";
        foreach (var (scope, slot) in new[] { ("tenant-a", 0), ("tenant-b", 1) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("v1/registrations", UriKind.Relative))
            {
                Content = JsonContent.Create(new { id = "admin-" + scope, requests = new[] { url } }),
            };
            request.Headers.Add("X-BgFetch-Scope", scope);
            using var created = await _cluster[slot].Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var sharding = await _cluster[2].Client.GetFromJsonAsync(new Uri("v1/admin/sharding", UriKind.Relative), ApiJsonContext.Default.ShardingBody);
        Assert.Equal(["registration", "scope-index"], sharding!.Regions.Select(static r => r.TypeName).Order());
        Assert.True(sharding.Regions.Single(static r => r.TypeName == "scope-index").Entities >= 2);

        using var all = await _cluster[2].Client.GetAsync(new Uri("v1/admin/registrations", UriKind.Relative));
        var rows = (await all.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("registrations").EnumerateArray()
            .Select(static r => (Scope: r.GetProperty("scope").GetString(), Id: r.GetProperty("id").GetString())).ToList();
        Assert.Contains(("tenant-a", "admin-tenant-a"), rows);
        Assert.Contains(("tenant-b", "admin-tenant-b"), rows);

        using var one = await _cluster[1].Client.GetAsync(new Uri("v1/admin/registrations?scope=tenant-b", UriKind.Relative));
        var only = (await one.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("registrations").EnumerateArray().ToList();
        Assert.Equal(["admin-tenant-b"], only.Select(static r => r.GetProperty("id").GetString()));

        using var unknown = await _cluster[0].Client.PostAsJsonAsync(new Uri("v1/admin/cluster/leave", UriKind.Relative), new { address = "akka.tcp://bgfetch@127.0.0.1:1" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var malformed = await _cluster[0].Client.PostAsJsonAsync(new Uri("v1/admin/cluster/down", UriKind.Relative), new { address = "not an address" });
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);

        foreach (var (scope, slot) in new[] { ("tenant-a", 2), ("tenant-b", 0) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri("v1/registrations/admin-" + scope, UriKind.Relative));
            request.Headers.Add("X-BgFetch-Scope", scope);
            using var released = await _cluster[slot].Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
        }
    }
}
