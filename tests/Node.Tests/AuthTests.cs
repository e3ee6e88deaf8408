using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>API keys decide the scope; scopes never see each other (docs/api.md, "Scopes and authentication").</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private readonly NodeFactory _node = new NodeFactory { Environment = "Production" }
        .With("BgFetch:Auth:ApiKeys:key-a", "scope-a")
        .With("BgFetch:Auth:ApiKeys:key-b", "scope-b")
        .With("BgFetch:Fetch:AllowPrivateNetworks", "true");

    private TestOrigin _origin = null!;

    public async Task InitializeAsync() => _origin = await TestOrigin.StartAsync();

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _origin.DisposeAsync();
    }

    private HttpClient ClientWith(string? key)
    {
        var client = _node.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    [Fact]
    public async Task MissingOrUnknownKey_Is401NotAllowedError()
    {
        using var anonymous = ClientWith(null);
        using var unknown = ClientWith("nope");

        using var first = await anonymous.GetAsync(new Uri("v1/registrations", UriKind.Relative));
        using var second = await unknown.GetAsync(new Uri("v1/registrations", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        Assert.Equal("NotAllowedError", (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task AnotherScopesRegistration_AnswersNotFound_AndItsIdIsFreeHere()
    {
        using var a = ClientWith("key-a");
        using var b = ClientWith("key-b");
        using var created = await a.CreateAsync(new { id = "shared", requests = new[] { $"{_origin.BaseUrl}files/s?size=10" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var fromB = await b.GetAsync(new Uri("v1/registrations/shared", UriKind.Relative));
        using var createdInB = await b.CreateAsync(new { id = "shared", requests = new[] { $"{_origin.BaseUrl}files/t?size=10" } });

        Assert.Equal(HttpStatusCode.NotFound, fromB.StatusCode);
        Assert.Equal(HttpStatusCode.Created, createdInB.StatusCode);
    }

    [Fact]
    public void ProductionWithoutKeys_RefusesToStart()
    {
        using var node = new NodeFactory { Environment = "Production" };

        var exception = Assert.ThrowsAny<Exception>(() => node.CreateClient());

        Assert.Contains("BgFetch:Auth:ApiKeys", exception.ToString(), StringComparison.Ordinal);
    }
}
