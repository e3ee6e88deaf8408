using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Issue 18, item 4: with API keys configured, an admin key reads, aborts, releases and updates any scope's registration
/// through <c>/v1/admin/scopes/{scope}/registrations/{id}/...</c>, the scoped API's calls with the scope in the path.
/// </summary>
public sealed class AdminScopeTests : IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly NodeFactory _node = new NodeFactory { Environment = "Production" }
        .With("BgFetch:Auth:ApiKeys:key-a", "scope a/1")
        .With("BgFetch:Auth:AdminKeys:admin-key", "operator")
        .With("BgFetch:Fetch:AllowPrivateNetworks", "true");

    private TestOrigin _origin = null!;
    private Uri _address = null!;
    private HttpClient _owner = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _origin = await TestOrigin.StartAsync();

        // Real Kestrel: the scope "scope a/1" travels as scope%20a%2F1, and only a real server keeps %2F in the raw target.
        _address = _node.StartKestrel();
        _owner = ClientWith("key-a");
        _admin = ClientWith("admin-key");
    }

    public async Task DisposeAsync()
    {
        _owner.Dispose();
        _admin.Dispose();
        await _node.DisposeAsync();
        await _origin.DisposeAsync();
    }

    private HttpClient ClientWith(string? key)
    {
        var client = new HttpClient { BaseAddress = _address };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>The admin path of a registration of the owner's scope ("scope a/1": escaped, as any scope may need).</summary>
    private static Uri Admin(string id, string rest = "") =>
        new($"v1/admin/scopes/{Uri.EscapeDataString("scope a/1")}/registrations/{Uri.EscapeDataString(id)}{rest}", UriKind.Relative);

    private async Task CreateAsync(string id, string url)
    {
        using var created = await _owner.CreateAsync(new { id, requests = new[] { url }, options = new { title = "Owned" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    [Fact]
    public async Task AdminKey_ReadsGetRecordsMatchBodyAndEventsOfAnotherScope()
    {
        await CreateAsync("read-me", _origin.BaseUrl + "files/r?size=1000");
        await _owner.WaitForSettledAsync("read-me", Settle);

        var view = await _admin.GetFromJsonAsync(Admin("read-me"), ApiJsonContext.Default.RegistrationView);
        var records = await _admin.GetFromJsonAsync(Admin("read-me", "/records"), ApiJsonContext.Default.RecordsBody);
        var match = await _admin.GetFromJsonAsync(Admin("read-me", "/records/match?url=" + Uri.EscapeDataString(_origin.BaseUrl + "files/r?size=1000")), ApiJsonContext.Default.RecordBody);
        var bodyUrl = records!.Records[0].Response!.BodyUrl;
        var body = await _admin.GetByteArrayAsync(new Uri(bodyUrl.TrimStart('/'), UriKind.Relative));
        using var events = await _admin.GetAsync(Admin("read-me", "/events"));

        Assert.Equal(BackgroundFetchResult.Success, view!.Result);
        Assert.Equal(0, match!.Record!.Index);
        Assert.StartsWith("/v1/admin/scopes/scope%20a%2F1/registrations/read-me/records/0/body", bodyUrl, StringComparison.Ordinal);
        Assert.Equal(1000, body.Length);
        Assert.Contains("event: backgroundfetchsuccess", await events.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminKey_AbortsUpdatesUiAndReleasesAnotherScopesRegistration()
    {
        await CreateAsync("act-on-me", _origin.BaseUrl + "files/slow?size=10000000&rate=100000");

        using var abort = await _admin.PostAsync(Admin("act-on-me", "/abort"), null);
        var aborted = await abort.Content.ReadFromJsonAsync(ApiJsonContext.Default.AbortBody);
        using var ui = await _admin.PostAsJsonAsync(Admin("act-on-me", "/ui"), new { title = "Stopped by an operator" });
        var ownerView = await _owner.WaitForSettledAsync("act-on-me", Settle);
        using var release = await _admin.DeleteAsync(Admin("act-on-me"));

        Assert.True(aborted!.Aborted);
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Equal("Stopped by an operator", ownerView.Title);
        Assert.Equal(BackgroundFetchFailureReason.Aborted, ownerView.FailureReason);
        Assert.Equal(HttpStatusCode.NoContent, release.StatusCode);
        Assert.Null(await _owner.GetRegistrationAsync("act-on-me"));
    }

    [Fact]
    public async Task AdminPaths_ApiKeyOrNoKey_Is401_AndUnknownScopeOrId_Is404()
    {
        await CreateAsync("guarded", _origin.BaseUrl + "files/g?size=10");
        using var anonymous = ClientWith(null);

        using var withApiKey = await _owner.GetAsync(Admin("guarded"));
        using var withoutKey = await anonymous.GetAsync(Admin("guarded"));
        using var otherScope = await _admin.GetAsync(new Uri("v1/admin/scopes/elsewhere/registrations/guarded", UriKind.Relative));
        using var adminOnScopedPath = await _admin.GetAsync(new Uri("v1/registrations/guarded", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, withApiKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, otherScope.StatusCode);
        Assert.Equal("NotFoundError", (await otherScope.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, adminOnScopedPath.StatusCode);
    }
}
