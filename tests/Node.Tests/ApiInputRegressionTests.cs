using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>Regressions for what the API fuzzer (<see cref="Fuzzing.ApiFuzzTests"/>) found, each pinned by a named case.</summary>
public sealed class ApiInputRegressionTests : IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly NodeFactory _node = new();
    private TestOrigin _origin = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _origin = await TestOrigin.StartAsync();
        _client = new HttpClient { BaseAddress = _node.StartKestrel() };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _node.DisposeAsync();
        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task Create_NullHeaderValue_Is400TypeError_Not500()
    {
        using var response = await PostJsonAsync("""{"id":"x","requests":[{"url":"http://fuzz.invalid/","headers":{"X-A":null}}]}""");

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "TypeError");
        await AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("""{"id":"x","id":"y","requests":["http://fuzz.invalid/"]}""")]
    [InlineData("""{"id":"x","requests":[{"url":"http://fuzz.invalid/","headers":{"A":"1","A":"2"}}]}""")]
    public async Task Create_DuplicateJsonMembers_AreRefused_NotLastOneWins(string json)
    {
        using var response = await PostJsonAsync(json);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "TypeError");
        await AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task Create_ValidJsonUnderAnotherContentType_Is415_AndStoresNothing(string? contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"id":"x","requests":["{{_origin.BaseUrl}}files/a?size=1"]}"""));
        if (contentType is not null)
        {
            content.Headers.ContentType = new(contentType);
        }

        using var response = await _client.PostAsync(new Uri("v1/registrations", UriKind.Relative), content);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "TypeError");
        await AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("GET", "v1/nothing-here", HttpStatusCode.NotFound, "NotFoundError")]
    [InlineData("GET", "v1/registrations/x/records/2147483648/body", HttpStatusCode.NotFound, "NotFoundError")]
    [InlineData("PUT", "v1/registrations", HttpStatusCode.MethodNotAllowed, "NotSupportedError")]
    [InlineData("PATCH", "v1/registrations/x", HttpStatusCode.MethodNotAllowed, "NotSupportedError")]
    [InlineData("GET", "v1/registrations/x/abort", HttpStatusCode.MethodNotAllowed, "NotSupportedError")]
    public async Task FrameworkAnswers_NoRouteOrWrongMethod_AreProblemsWithAName(string method, string path, HttpStatusCode status, string name)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        using var response = await _client.SendAsync(request);

        await AssertProblemAsync(response, status, name);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a%2Fb")]
    [InlineData("%")]
    [InlineData("100% sure?#")]
    [InlineData("\u4e2d/..\u00e9")]
    public async Task Id_WithSlashOrPercent_IsReachableAtItsLocation_OnEveryRoute(string id)
    {
        using var created = await _client.CreateAsync(new { id, requests = new[] { $"{_origin.BaseUrl}files/a?size=10" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!.OriginalString;
        await _client.WaitForSettledAsync(id, Settle);

        var view = await _client.GetFromJsonAsync(new Uri(location.TrimStart('/'), UriKind.Relative), ApiJsonContext.Default.RegistrationView);
        Assert.Equal(id, view!.Id);
        var records = await _client.MatchAllAsync(id);
        Assert.Equal(RecordState.Success, Assert.Single(records).State);
        using var body = await _client.GetAsync(new Uri(records[0].Response!.BodyUrl.TrimStart('/'), UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, body.StatusCode);
        using var abort = await _client.PostAsync(new Uri(location.TrimStart('/') + "/abort", UriKind.Relative), null);
        Assert.False((await abort.Content.ReadFromJsonAsync(ApiJsonContext.Default.AbortBody))!.Aborted);
        using var released = await _client.DeleteAsync(new Uri(location.TrimStart('/'), UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
    }

    [Fact]
    public async Task Create_ForbiddenRequestHeaders_AreDroppedAsTheFetchStandardsHeadersDo()
    {
        var headers = new Dictionary<string, string>
        {
            ["Accept"] = "  text/plain\t",
            ["X-Custom"] = "kept",
            ["Host"] = "evil.example",
            ["Content-Length"] = "999",
            ["Transfer-Encoding"] = "chunked",
            ["Cookie"] = "a=b",
            ["Sec-Fetch-Mode"] = "navigate",
            ["Proxy-Authorization"] = "Basic x",
            ["X-HTTP-Method-Override"] = "TRACE",
        };
        using var created = await _client.CreateAsync(new { id = "headers", requests = new object[] { new { url = $"{_origin.BaseUrl}files/h?size=10", headers } } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var settled = await _client.WaitForSettledAsync("headers", Settle);
        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        var record = Assert.Single(await _client.MatchAllAsync("headers"));
        Assert.Equal(new Dictionary<string, string> { ["Accept"] = "text/plain", ["X-Custom"] = "kept" }, record.Request.Headers);
    }

    [Fact]
    public async Task RecordQueries_OddValuesOnARealRegistration_AreNeverServerErrors()
    {
        using var created = await _client.CreateAsync(new { id = "q", requests = new[] { $"{_origin.BaseUrl}files/q?size=10" } });
        await _client.WaitForSettledAsync("q", Settle);

        string[] queries =
        [
            "records?url=%00", "records?url=http%3A%2F%2F%5B", "records?url=", "records?url=ftp%3A%2F%2Fx", "records?method=TRACE&url=%2Ffiles%2Fq",
            "records?ignoreSearch=maybe&url=x", "records/match?url=%E2%80%AE", "records/match?url=" + new string('u', 4000), "records/0/body?timeout=1e400",
            "records/0/body?timeout=-1", "records/0/body?timeout=NaN", "records/-1/body?timeout=0", "records/7/body?timeout=0", "events?timeout=abc",
        ];
        foreach (var query in queries)
        {
            using var response = await _client.GetAsync(new Uri($"v1/registrations/q/{query}", UriKind.Relative));
            Assert.True((int)response.StatusCode < 500, $"{query}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            if ((int)response.StatusCode >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
    }

    [Theory]
    [InlineData("zz\r\n{}\r\n0\r\n\r\n")]
    [InlineData("5\r\n{\"id\":\"x\"}\r\n0\r\n\r\n")]
    [InlineData("FFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n")]
    public async Task Create_MalformedChunkedFraming_Is400Problem_NotServerError(string chunks)
    {
        var request = "POST /v1/registrations HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks;
        using var deadline = new CancellationTokenSource(Settle);

        var response = await RawHttp.SendBytesAsync(_client.BaseAddress!, Encoding.ASCII.GetBytes(request), deadline.Token);

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Equal("TypeError", JsonDocument.Parse(response.Body).RootElement.GetProperty("name").GetString());
        await AssertNothingStoredAsync();
    }

    private async Task<HttpResponseMessage> PostJsonAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await _client.PostAsync(new Uri("v1/registrations", UriKind.Relative), content);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string name)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(name, problem.GetProperty("name").GetString());
    }

    private async Task AssertNothingStoredAsync()
    {
        var ids = await _client.GetFromJsonAsync(new Uri("v1/registrations", UriKind.Relative), ApiJsonContext.Default.IdsBody);
        Assert.Empty(ids!.Ids);
        await StoredState.AssertNothingStoredAsync(_node.DataDirectory, "after a refused creation");
    }
}
