using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BgFetchCluster.Node.Tests;

public sealed class HealthApiTests : IClassFixture<WebApplicationFactory<Program>>
{
    private readonly WebApplicationFactory<Program> _factory;

    public HealthApiTests(WebApplicationFactory<Program> factory) => _factory = factory;

    [Fact]
    public async Task Alive_RunningNode_Answers200()
    {
        using var client = _factory.CreateClient();

        using var response = await client.GetAsync(new Uri("/alive", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
