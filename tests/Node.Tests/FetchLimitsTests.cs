using System.Globalization;
using System.Net;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Per-origin and per-node limits and fairness through the real node: a registration of 10,000
/// requests goes through a handful of sockets, and a small registration is served next to a huge one.
/// </summary>
public sealed class FetchLimitsTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task TenThousandRequests_Settle_OverNoMoreThanMaxConnectionsPerServerSockets()
    {
        await using var origin = await HostileOrigin.StartAsync();
        await using var node = new NodeFactory().With("BgFetch:Fetch:MaxConnectionsPerServer", "8");
        using var client = node.CreateClient();
        var requests = Enumerable.Range(0, 10_000).Select(i => $"ok/t{i}?size=16").ToArray();

        using var created = await client.CreateAsync(new { id = "ten-thousand", requests, baseUrl = origin.BaseUrl });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var settled = await client.WaitForSettledAsync("ten-thousand", Settle);

        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        Assert.Equal(10_000 * 16, settled.Downloaded);
        Assert.InRange(origin.MaxInFlight, 1, 8);
        Assert.InRange(origin.Connections, 1, 8);
    }

    [Fact]
    public async Task SmallRegistration_IsServedNextToAHugeOne_NotBehindIt()
    {
        await using var origin = await HostileOrigin.StartAsync();
        await using var node = new NodeFactory()
            .With("BgFetch:Fetch:MaxConcurrentRecords", "2")
            .With("BgFetch:Fetch:MaxConnectionsPerServer", "2");
        using var client = node.CreateClient();

        // 300 records of about 100 ms each, two at a time: some 15 s of work.
        var huge = Enumerable.Range(0, 300).Select(i => $"drip/h{i}?size=1&interval=100").ToArray();
        using var createdHuge = await client.CreateAsync(new { id = "huge", requests = huge, baseUrl = origin.BaseUrl });
        Assert.Equal(HttpStatusCode.Created, createdHuge.StatusCode);
        await client.WaitForAsync("huge", r => r.Downloaded >= 2, "the huge registration under way", Settle);

        using var createdSmall = await client.CreateAsync(new { id = "small", requests = new[] { "ok/small?size=100" }, baseUrl = origin.BaseUrl });
        var small = await client.WaitForSettledAsync("small", Settle);
        var hugeNow = await client.GetRegistrationAsync("huge");

        Assert.Equal(BackgroundFetchResult.Success, small.Result);
        Assert.Equal(BackgroundFetchResult.None, hugeNow!.Result);
        Assert.True(hugeNow.Downloaded < 150, $"the small registration waited for half the huge one ({hugeNow.Downloaded} of 300 records done)");
        Assert.InRange(origin.MaxInFlight, 1, 2);
    }

    [Fact]
    public async Task BusyOrigin_DoesNotHoldUpRecordsForAnotherOrigin()
    {
        await using var busy = await HostileOrigin.StartAsync();
        await using var other = await HostileOrigin.StartAsync();
        await using var node = new NodeFactory()
            .With("BgFetch:Fetch:MaxConcurrentRecords", "4")
            .With("BgFetch:Fetch:MaxConnectionsPerServer", "1");
        using var client = node.CreateClient();

        var slow = Enumerable.Range(0, 100).Select(i => $"{busy.BaseUrl}drip/s{i.ToString(CultureInfo.InvariantCulture)}?size=1&interval=100").ToArray();
        using var createdSlow = await client.CreateAsync(new { id = "slow-origin", requests = slow });
        Assert.Equal(HttpStatusCode.Created, createdSlow.StatusCode);
        await client.WaitForAsync("slow-origin", r => r.Downloaded >= 1, "the slow origin under way", Settle);

        using var createdQuick = await client.CreateAsync(new { id = "other-origin", requests = new[] { $"{other.BaseUrl}ok/q1?size=10", $"{other.BaseUrl}ok/q2?size=10" } });
        var quick = await client.WaitForSettledAsync("other-origin", Settle);
        var slowNow = await client.GetRegistrationAsync("slow-origin");

        Assert.Equal(BackgroundFetchResult.Success, quick.Result);
        Assert.Equal(BackgroundFetchResult.None, slowNow!.Result);
        Assert.Equal(1, busy.MaxInFlight);
    }
}
