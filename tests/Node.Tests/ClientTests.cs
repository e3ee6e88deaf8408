using System.Security.Cryptography;
using BgFetchCluster.Client;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>The .NET client against an in-process node and a real loopback origin.</summary>
public sealed class ClientTests : IAsyncLifetime
{
    private readonly NodeFactory _node = new();
    private TestOrigin _origin = null!;
    private BackgroundFetchManager _manager = null!;

    public async Task InitializeAsync()
    {
        _origin = await TestOrigin.StartAsync();
        _manager = new BackgroundFetchManager(_node.CreateClient());
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task SeedsExample_ThroughTheClient_WatchesProgressAndReadsTheResponse()
    {
        var registration = await _manager.FetchAsync(
            "my-fetch",
            ["/files/ep-5.mp3?size=2000000&rate=4000000", "files/ep-5-artwork.jpg?size=100"],
            new BackgroundFetchOptions("Episode 5: Interesting things.", [new IconView("/ep-5-icon.png", "300x300", "image/png")], 60 * 1024 * 1024),
            new Uri(_origin.BaseUrl));

        var events = new List<BackgroundFetchProgress>();
        await foreach (var progress in registration.WatchAsync())
        {
            events.Add(progress);
        }

        Assert.Equal("backgroundfetchsuccess", events[^1].EventType);
        Assert.Empty(await _manager.GetIdsAsync());
        var fetched = await _manager.GetAsync("my-fetch");
        Assert.Equal(BackgroundFetchResult.Success, fetched!.Result);
        var record = await fetched.MatchAsync("/files/ep-5.mp3?size=2000000&rate=4000000");
        Assert.NotNull(record);
        using var response = await record.ResponseReadyAsync();
        Assert.Equal(TestOrigin.Sha256Of(2_000_000), Convert.ToHexStringLower(SHA256.HashData(await response.Content.ReadAsByteArrayAsync())));
        Assert.Equal(2, (await fetched.MatchAllAsync()).Count);
    }

    [Fact]
    public async Task UpdateUIAsync_NewTitleAndIcons_TheRegistrationAndEveryReaderShowThem()
    {
        var registration = await _manager.FetchAsync("ui", [$"{_origin.BaseUrl}files/ui?size=10"], new BackgroundFetchOptions("Before"));
        await foreach (var _ in registration.WatchAsync())
        {
        }

        await registration.UpdateUIAsync("After", [new IconView("/done.png", "64x64", "image/png")]);
        var again = await _manager.GetAsync("ui");

        Assert.Equal("After", registration.Title);
        Assert.Equal("After", again!.Title);
        Assert.Equal([new IconView("/done.png", "64x64", "image/png")], again.View.Icons);
        var refused = await Assert.ThrowsAsync<BackgroundFetchException>(() => registration.UpdateUIAsync(icons: [new IconView("")]));
        Assert.Equal("TypeError", refused.Name);
    }

    [Fact]
    public async Task Errors_CarryTheDomExceptionName()
    {
        var rejected = await Assert.ThrowsAsync<BackgroundFetchException>(() => _manager.FetchAsync("bad", ["ftp://example.com/"]));
        Assert.Equal("TypeError", rejected.Name);
        Assert.Null(await _manager.GetAsync("missing"));

        var slow = await _manager.FetchAsync("slow", [$"{_origin.BaseUrl}files/slow?size=50000000&rate=1000000"]);
        Assert.True(await slow.AbortAsync());
        Assert.False(await slow.AbortAsync());
        var record = Assert.Single(await slow.MatchAllAsync());
        var aborted = await Assert.ThrowsAsync<BackgroundFetchException>(() => record.ResponseReadyAsync());
        Assert.Equal("AbortError", aborted.Name);
    }
}
