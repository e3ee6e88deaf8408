using BgFetchCluster.Messages.Fetch.Api;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>The Background Fetch semantics of docs/api.md, through the node's HTTP API against real loopback origins.</summary>
public class RegistrationApiTests : IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly NodeFactory _node;
    private TestOrigin _origin = null!;
    private HttpClient _client = null!;

    /// <summary>The tests on the product's own journal plugin.</summary>
    public RegistrationApiTests()
        : this(StoredJournal.BgFetch)
    {
    }

    /// <summary>The tests on the node running <paramref name="journal"/>.</summary>
    protected RegistrationApiTests(StoredJournal journal)
    {
        ArgumentNullException.ThrowIfNull(journal);
        _node = journal.Configure(new NodeFactory());
    }

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

    private string File(string name, long size, string extra = "") => $"{_origin.BaseUrl}files/{name}?size={size}{extra}";

    private static async Task<JsonElement> ProblemOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task SeedsExample_MyFetch_GetMatchAndBody()
    {
        using var created = await _client.CreateAsync(new
        {
            id = "my-fetch",
            requests = new[] { "/files/ep-5.mp3?size=300000", "files/ep-5-artwork.jpg?size=2000" },
            baseUrl = _origin.BaseUrl,
            options = new
            {
                title = "Episode 5: Interesting things.",
                icons = new[] { new { sizes = "300x300", src = "/ep-5-icon.png", type = "image/png", label = "Downloading a show" } },
                downloadTotal = 60 * 1024 * 1024,
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/v1/registrations/my-fetch", created.Headers.Location?.ToString());

        var registration = await _client.WaitForSettledAsync("my-fetch", Settle);
        Assert.Equal(BackgroundFetchResult.Success, registration.Result);
        Assert.Equal(BackgroundFetchFailureReason.None, registration.FailureReason);
        Assert.Equal("Episode 5: Interesting things.", registration.Title);
        Assert.Equal(60 * 1024 * 1024, registration.DownloadTotal);
        Assert.Equal(302000, registration.Downloaded);
        Assert.Equal(2, registration.RequestCount);
        Assert.True(registration.RecordsAvailable);

        var match = await _client.GetFromJsonAsync(new Uri("v1/registrations/my-fetch/records/match?url=/files/ep-5.mp3?size=300000", UriKind.Relative), ApiJsonContext.Default.RecordBody);
        Assert.NotNull(match!.Record);
        Assert.Equal(0, match.Record.Index);
        Assert.Equal(RecordState.Success, match.Record.State);
        using var body = await _client.GetAsync(new Uri(match.Record.Response!.BodyUrl, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, body.StatusCode);
        Assert.Equal("200", body.Headers.GetValues("X-BgFetch-Status").Single());
        Assert.Equal(TestOrigin.Sha256Of(300000), Convert.ToHexStringLower(SHA256.HashData(await body.Content.ReadAsByteArrayAsync())));
    }

    [Fact]
    public async Task DownloadTotal_ExactlyReached_Succeeds_StrictlyExceeded_FailsAtOnce()
    {
        using var exact = await _client.CreateAsync(new { id = "exact", requests = new[] { File("a", 5000), File("b", 5000) }, options = new { downloadTotal = 10000 } });
        using var over = await _client.CreateAsync(new { id = "over", requests = new[] { File("c", 5000), File("d", 5001) }, options = new { downloadTotal = 10000 } });
        Assert.Equal(HttpStatusCode.Created, exact.StatusCode);
        Assert.Equal(HttpStatusCode.Created, over.StatusCode);

        Assert.Equal(BackgroundFetchResult.Success, (await _client.WaitForSettledAsync("exact", Settle)).Result);
        var failed = await _client.WaitForSettledAsync("over", Settle);
        Assert.Equal(BackgroundFetchResult.Failure, failed.Result);
        Assert.Equal(BackgroundFetchFailureReason.DownloadTotalExceeded, failed.FailureReason);
    }

    [Fact]
    public async Task BadStatus_KeepsBodyAndOtherRecords_ReasonOfLowestFailingIndex()
    {
        using var created = await _client.CreateAsync(new
        {
            id = "mixed",
            requests = new[] { File("ok", 1000), File("missing", 300, "&status=404"), "http://127.0.0.1:2/unreachable" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var settled = await _client.WaitForSettledAsync("mixed", Settle);
        Assert.Equal(BackgroundFetchResult.Failure, settled.Result);
        Assert.Equal(BackgroundFetchFailureReason.BadStatus, settled.FailureReason);
        var records = await _client.MatchAllAsync("mixed");
        Assert.Equal([RecordState.Success, RecordState.BadStatus, RecordState.FetchError], records.Select(r => r.State));
        Assert.Null(records[2].Response);
        using var badBody = await _client.GetAsync(new Uri("v1/registrations/mixed/records/1/body", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, badBody.StatusCode);
        Assert.Equal("404", badBody.Headers.GetValues("X-BgFetch-Status").Single());
        Assert.Equal(300, (await badBody.Content.ReadAsByteArrayAsync()).Length);
        using var failedBody = await _client.GetAsync(new Uri("v1/registrations/mixed/records/2/body", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Conflict, failedBody.StatusCode);
        Assert.Equal("TypeError", (await ProblemOf(failedBody)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Abort_TrueThenFalse_CompletedRecordsStayReadable_AbortedBodyIsAbortError()
    {
        using var created = await _client.CreateAsync(new { id = "abort-me", requests = new[] { File("small", 1000), File("slow", 50_000_000, "&rate=1000000") } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await _client.WaitForAsync("abort-me", r => r.Downloaded > 1000, "the small record and part of the slow one", Settle);

        using var first = await _client.PostAsync(new Uri("v1/registrations/abort-me/abort", UriKind.Relative), null);
        using var second = await _client.PostAsync(new Uri("v1/registrations/abort-me/abort", UriKind.Relative), null);

        Assert.True((await first.Content.ReadFromJsonAsync(ApiJsonContext.Default.AbortBody))!.Aborted);
        Assert.False((await second.Content.ReadFromJsonAsync(ApiJsonContext.Default.AbortBody))!.Aborted);
        var settled = await _client.GetRegistrationAsync("abort-me");
        Assert.Equal(BackgroundFetchFailureReason.Aborted, settled!.FailureReason);
        using var done = await _client.GetAsync(new Uri("v1/registrations/abort-me/records/0/body", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using var aborted = await _client.GetAsync(new Uri("v1/registrations/abort-me/records/1/body", UriKind.Relative));
        Assert.Equal("AbortError", (await ProblemOf(aborted)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task GetIds_ListsActiveOnly_AndASettledIdIsReusable()
    {
        using var slow = await _client.CreateAsync(new { id = "active", requests = new[] { File("s", 50_000_000, "&rate=1000000") } });
        using var fast = await _client.CreateAsync(new { id = "reuse", requests = new[] { File("f", 10) } });
        await _client.WaitForSettledAsync("reuse", Settle);

        var ids = await _client.GetFromJsonAsync(new Uri("v1/registrations", UriKind.Relative), ApiJsonContext.Default.IdsBody);
        Assert.Equal(["active"], ids!.Ids);
        using var again = await _client.CreateAsync(new { id = "reuse", requests = new[] { File("f2", 20) } });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(20, (await _client.WaitForSettledAsync("reuse", Settle)).Downloaded);
        using var duplicate = await _client.CreateAsync(new { id = "active", requests = new[] { File("x", 1) } });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal("TypeError", (await ProblemOf(duplicate)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task ConcurrentCreations_OfOneId_ExactlyOneWins()
    {
        var attempts = Enumerable.Range(0, 20)
            .Select(i => _client.CreateAsync(new { id = "race", requests = new[] { File("r" + i, 50_000_000, "&rate=1000000") } }))
            .ToArray();
        var responses = await Task.WhenAll(attempts);

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(19, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Release_DeletesAndForgets_ThenNotFound()
    {
        using var created = await _client.CreateAsync(new { id = "release-me", requests = new[] { File("r", 1000) } });
        await _client.WaitForSettledAsync("release-me", Settle);

        using var deleted = await _client.DeleteAsync(new Uri("v1/registrations/release-me", UriKind.Relative));
        using var gone = await _client.GetAsync(new Uri("v1/registrations/release-me", UriKind.Relative));
        using var again = await _client.DeleteAsync(new Uri("v1/registrations/release-me", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("NotFoundError", (await ProblemOf(gone)).GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Events_ProgressThenExactlyOneTerminalEvent_LateSubscriberGetsTerminalAtOnce()
    {
        using var created = await _client.CreateAsync(new { id = "events", requests = new[] { File("e", 3_000_000, "&rate=3000000") } });
        var live = await ReadEventsAsync("events");
        Assert.Contains("progress", live.Select(e => e.Event));
        Assert.Equal("backgroundfetchsuccess", live[^1].Event);
        Assert.Single(live, e => e.Event.StartsWith("backgroundfetch", StringComparison.Ordinal));

        var late = await ReadEventsAsync("events");
        Assert.Equal(["backgroundfetchsuccess"], late.Select(e => e.Event));
    }

    [Fact]
    public async Task MatchAll_IgnoreSearchAndMethod_FollowTheCacheRules()
    {
        using var created = await _client.CreateAsync(new { id = "match", requests = new[] { File("m", 10, "&v=1"), File("m", 10, "&v=2"), File("other", 10) } });
        await _client.WaitForSettledAsync("match", Settle);

        var all = await _client.MatchAllAsync("match");
        var exact = await _client.MatchAllAsync("match", "?url=" + Uri.EscapeDataString(File("m", 10, "&v=2")));
        var ignoringSearch = await _client.MatchAllAsync("match", "?ignoreSearch=true&url=" + Uri.EscapeDataString(_origin.BaseUrl + "files/m"));
        var post = await _client.MatchAllAsync("match", "?method=POST&url=" + Uri.EscapeDataString(File("other", 10)));
        var postIgnoringMethod = await _client.MatchAllAsync("match", "?method=POST&ignoreMethod=true&url=" + Uri.EscapeDataString(File("other", 10)));

        Assert.Equal([0, 1, 2], all.Select(r => r.Index));
        Assert.Equal([1], exact.Select(r => r.Index));
        Assert.Equal([0, 1], ignoringSearch.Select(r => r.Index));
        Assert.Empty(post);
        Assert.Equal([2], postIgnoringMethod.Select(r => r.Index));
    }

    [Fact]
    public async Task Upload_PostBody_CountsUploadTotalAndUploaded()
    {
        using var created = await _client.CreateAsync(new
        {
            id = "upload",
            requests = new object[] { new { url = _origin.BaseUrl + "echo", method = "POST", headers = new Dictionary<string, string> { ["Content-Type"] = "text/plain" }, body = Convert.ToBase64String("hello"u8.ToArray()) } },
        });
        var view = await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.RegistrationView);
        Assert.Equal(5, view!.UploadTotal);

        var settled = await _client.WaitForSettledAsync("upload", Settle);
        Assert.Equal(5, settled.Uploaded);
        Assert.Equal(5, settled.Downloaded);
    }

    [Theory]
    [InlineData("""{"requests":["http://example.com/"]}""")]
    [InlineData("""{"id":"","requests":["http://example.com/"]}""")]
    [InlineData("""{"id":"x","requests":[]}""")]
    [InlineData("""{"id":"x","requests":["relative/without/base"]}""")]
    [InlineData("""{"id":"x","requests":["ftp://example.com/"]}""")]
    [InlineData("""{"id":"x","requests":["http://user:pw@example.com/"]}""")]
    [InlineData("""{"id":"x","requests":["http://example.com:25/"]}""")]
    [InlineData("""{"id":"x","requests":[{"url":"http://example.com/","method":"TRACE"}]}""")]
    [InlineData("""{"id":"x","requests":[{"url":"http://example.com/","method":"GET","body":"aGk="}]}""")]
    [InlineData("""{"id":"x","requests":["http://example.com/"]""")]
    [InlineData("""{"id":42,"requests":["http://example.com/"]}""")]
    public async Task Create_InvalidInput_Is400TypeErrorAndStoresNothing(string json)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await _client.PostAsync(new Uri("v1/registrations", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("TypeError", (await ProblemOf(response)).GetProperty("name").GetString());
        var ids = await _client.GetFromJsonAsync(new Uri("v1/registrations", UriKind.Relative), ApiJsonContext.Default.IdsBody);
        Assert.Empty(ids!.Ids);
    }

    private async Task<List<(string Event, string Data)>> ReadEventsAsync(string id)
    {
        using var cancellation = new CancellationTokenSource(Settle);
        using var response = await _client.GetAsync(new Uri($"v1/registrations/{id}/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellation.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<(string, string)>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync(cancellation.Token)).EnumerateAsync(cancellation.Token))
        {
            events.Add((item.EventType, item.Data));
        }

        return events;
    }
}

/// <summary><see cref="RegistrationApiTests"/> on Akka.Persistence.Sql (<c>BgFetch:Storage:Journal=AkkaSql</c>).</summary>
public sealed class AkkaSqlRegistrationApiTests : RegistrationApiTests
{
    /// <summary>The node runs Akka.Persistence.Sql on SQLite.</summary>
    public AkkaSqlRegistrationApiTests()
        : base(StoredJournal.AkkaSql)
    {
    }
}
