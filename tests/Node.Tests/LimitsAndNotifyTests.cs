using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>Scope quota, automatic release after the retention, and the notify webhook.</summary>
public sealed class LimitsAndNotifyTests : IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly NodeFactory _node = new NodeFactory()
        .With("BgFetch:Limits:ScopeQuotaBytes", "10000")
        .With("BgFetch:Retention", "00:00:01");

    private TestOrigin _origin = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _origin = await TestOrigin.StartAsync();
        _client = _node.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _node.DisposeAsync();
        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task Quota_DownloadTotalAboveIt_Is413_StoredBytesAboveIt_FailQuotaExceeded()
    {
        using var tooBig = await _client.CreateAsync(new { id = "too-big", requests = new[] { $"{_origin.BaseUrl}files/a?size=10" }, options = new { downloadTotal = 20000 } });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Equal("QuotaExceededError", (await tooBig.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());

        using var created = await _client.CreateAsync(new { id = "grows", requests = new[] { $"{_origin.BaseUrl}files/b?size=15000" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var settled = await _client.WaitForSettledAsync("grows", Settle);
        Assert.Equal(BackgroundFetchFailureReason.QuotaExceeded, settled.FailureReason);
    }

    [Fact]
    public async Task Retention_SettledRegistration_IsReleasedAutomatically()
    {
        using var created = await _client.CreateAsync(new { id = "short-lived", requests = new[] { $"{_origin.BaseUrl}files/c?size=100" } });
        await _client.WaitForSettledAsync("short-lived", Settle);

        var deadline = DateTime.UtcNow + Settle;
        while (await _client.GetRegistrationAsync("short-lived") is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the settled registration should be released after its 1 s retention");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Notify_IsRetriedUntil2xx_WithAStableEventId()
    {
        using var created = await _client.CreateAsync(new
        {
            id = "notify-me",
            requests = new[] { $"{_origin.BaseUrl}files/d?size=100" },
            notify = new { url = _origin.BaseUrl + "hook" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var deadline = DateTime.UtcNow + Settle;
        while (_origin.Hooks.Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected a failed delivery and a retry, got {_origin.Hooks.Count}");
            await Task.Delay(50);
        }

        var deliveries = _origin.Hooks.ToArray();
        Assert.Equal(deliveries[0].EventId, deliveries[1].EventId);
        Assert.False(string.IsNullOrEmpty(deliveries[0].EventId));
        var body = JsonDocument.Parse(deliveries[1].Body).RootElement;
        Assert.Equal("backgroundfetchsuccess", body.GetProperty("type").GetString());
        Assert.Equal("notify-me", body.GetProperty("registration").GetProperty("id").GetString());
    }
}
