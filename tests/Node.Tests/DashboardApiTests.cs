using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BgFetchCluster.Node.Tests;

/// <summary>The embedded dashboard files; the page itself is driven in Chromium by src/client-js/e2e.</summary>
public sealed class DashboardApiTests : IClassFixture<WebApplicationFactory<Program>>
{
    private readonly WebApplicationFactory<Program> _factory;

    public DashboardApiTests(WebApplicationFactory<Program> factory) => _factory = factory;

    [Theory]
    [InlineData("/dashboard", "text/html", "<title>BgFetchCluster dashboard</title>")]
    [InlineData("/dashboard/", "text/html", "/dashboard/dashboard.js")]
    [InlineData("/dashboard/dashboard.js", "text/javascript", "/v1/admin/cluster")]
    [InlineData("/dashboard/dashboard.css", "text/css", "progress")]
    public async Task Dashboard_EmbeddedFile_IsServedWithItsContentType(string path, string mediaType, string expected)
    {
        using var client = _factory.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_UnknownFile_Answers404NotFoundError()
    {
        using var client = _factory.CreateClient();

        using var response = await client.GetAsync(new Uri("/dashboard/secrets.txt", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("NotFoundError", problem.RootElement.GetProperty("name").GetString());
    }
}
