using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Issue 18, item 2: <c>updateUI()</c> over <c>POST /v1/registrations/{id}/ui</c>, and the event stream with
/// <c>?untilReleased=true</c> that tells every watcher about it and, at last, that the records are gone.
/// </summary>
public sealed class UpdateUiTests : IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly NodeFactory _node = new();
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

    private async Task CreateSettledAsync(string id)
    {
        using var created = await _client.CreateAsync(new
        {
            id,
            requests = new[] { _origin.BaseUrl + "files/ui?size=100" },
            options = new { title = "Before", icons = new[] { new { src = "/before.png" } } },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await _client.WaitForSettledAsync(id, Settle);
    }

    private Task<HttpResponseMessage> UpdateUiAsync(string id, string json) =>
        _client.PostAsync(new Uri($"v1/registrations/{id}/ui", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task UpdateUi_TitleAndIcons_Answers200WithTheRegistrationAndGetShowsThem()
    {
        await CreateSettledAsync("ui");

        using var updated = await UpdateUiAsync("ui", """{"title":"After","icons":[{"src":"/after.png","sizes":"64x64","type":"image/png"}]}""");
        var view = await updated.Content.ReadFromJsonAsync(ApiJsonContext.Default.RegistrationView);
        var read = await _client.GetRegistrationAsync("ui");

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("After", view!.Title);
        Assert.Equal("After", read!.Title);
        Assert.Equal([new IconView("/after.png", "64x64", "image/png")], read.Icons);
        Assert.Equal(BackgroundFetchResult.Success, read.Result);
    }

    [Fact]
    public async Task UpdateUi_TitleOnly_KeepsTheIcons()
    {
        await CreateSettledAsync("title-only");

        using var updated = await UpdateUiAsync("title-only", """{"title":"Only the title"}""");
        var read = await _client.GetRegistrationAsync("title-only");

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("Only the title", read!.Title);
        Assert.Equal([new IconView("/before.png")], read.Icons);
    }

    [Theory]
    [InlineData("""{"title":5}""")]
    [InlineData("""{"icons":"x.png"}""")]
    [InlineData("""{"icons":[{}]}""")]
    [InlineData("""{"icons":[{"src":""}]}""")]
    [InlineData("""{"icons":[null]}""")]
    [InlineData("""[1]""")]
    [InlineData("""not json""")]
    public async Task UpdateUi_BadTitleOrIcons_Is400TypeErrorAndChangesNothing(string json)
    {
        await CreateSettledAsync("bad-ui");

        using var refused = await UpdateUiAsync("bad-ui", json);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("TypeError", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        Assert.Equal("Before", (await _client.GetRegistrationAsync("bad-ui"))!.Title);
    }

    [Fact]
    public async Task UpdateUi_NotJson_Is415TypeError()
    {
        await CreateSettledAsync("text-ui");

        using var refused = await _client.PostAsync(
            new Uri("v1/registrations/text-ui/ui", UriKind.Relative), new StringContent("{\"title\":\"x\"}", Encoding.UTF8, "text/plain"));
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.Equal("TypeError", problem.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task UpdateUi_UnknownId_Is404NotFoundError()
    {
        using var missing = await UpdateUiAsync("nobody", """{"title":"x"}""");

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("NotFoundError", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Events_UntilReleased_SendTheTerminalEventThenUpdateUiThenRecordsReleasedAndEnd()
    {
        await CreateSettledAsync("watched");
        using var cancellation = new CancellationTokenSource(Settle);
        using var response = await _client.GetAsync(
            new Uri("v1/registrations/watched/events?untilReleased=true", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellation.Token);
        response.EnsureSuccessStatusCode();
        var events = new List<(string Event, RegistrationView View)>();
        var reader = System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync(cancellation.Token)).EnumerateAsync(cancellation.Token);
        await using var items = reader.GetAsyncEnumerator(cancellation.Token);

        async Task NextAsync()
        {
            Assert.True(await items.MoveNextAsync(), $"the stream ended early after {string.Join(", ", events.Select(e => e.Event))}");
            events.Add((items.Current.EventType, JsonSerializer.Deserialize(items.Current.Data, ApiJsonContext.Default.RegistrationView)!));
        }

        // A subscriber after settlement gets the terminal event at once; the stream stays open.
        await NextAsync();
        using (await UpdateUiAsync("watched", """{"title":"Done: 1 file"}"""))
        {
        }

        await NextAsync();
        using (await _client.DeleteAsync(new Uri("v1/registrations/watched", UriKind.Relative)))
        {
        }

        await NextAsync();

        Assert.Equal(["backgroundfetchsuccess", "updateui", "recordsreleased"], events.Select(e => e.Event));
        Assert.True(events[0].View.RecordsAvailable);
        Assert.Equal("Done: 1 file", events[1].View.Title);
        Assert.False(events[2].View.RecordsAvailable);
        Assert.False(await items.MoveNextAsync(), "the stream ends after recordsreleased");
    }

    [Fact]
    public async Task Events_WithoutUntilReleased_StillEndAfterTheTerminalEvent()
    {
        await CreateSettledAsync("plain");

        var events = await _client.ReadEventsAsync("plain", Settle);

        Assert.Equal(["backgroundfetchsuccess"], events.Select(e => e.Event));
    }
}

/// <summary><c>updateUI()</c> is journaled: a node process killed and started again on the same data shows the new title.</summary>
public sealed class UpdateUiRestartTests : NodeProcessTests
{
    [Fact]
    public async Task UpdateUi_NodeKilledAndRestarted_TheNewTitleAndIconsSurvive()
    {
        await using (var first = await StartNodeAsync())
        {
            using var created = await first.Client.CreateAsync(new { id = "durable-ui", requests = new[] { Origin.BaseUrl + "files/d?size=10" }, options = new { title = "Before" } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await first.Client.WaitForSettledAsync("durable-ui", TimeSpan.FromSeconds(30));
            using var updated = await first.Client.PostAsJsonAsync(new Uri("v1/registrations/durable-ui/ui", UriKind.Relative), new { title = "After", icons = new[] { new { src = "/after.png" } } });
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
            await first.KillAsync();
        }

        await using var second = await StartNodeAsync();
        var read = await second.Client.GetRegistrationAsync("durable-ui");

        Assert.Equal("After", read!.Title);
        Assert.Equal([new IconView("/after.png")], read.Icons);
    }
}
