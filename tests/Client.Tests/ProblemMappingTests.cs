using System.Net;
using System.Text;

namespace BgFetchCluster.Client.Tests;

public sealed class ProblemMappingTests
{
    [Fact]
    public async Task EnsureSuccess_ProblemDocument_ThrowsWithItsDomExceptionName()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.RequestEntityTooLarge)
        {
            Content = new StringContent("""{"title":"QuotaExceededError","status":413,"detail":"too big","name":"QuotaExceededError"}""", Encoding.UTF8, "application/problem+json"),
        };

        var exception = await Assert.ThrowsAsync<BackgroundFetchException>(() => BackgroundFetchManager.EnsureSuccessAsync(response, default));

        Assert.Equal("QuotaExceededError", exception.Name);
        Assert.Equal(413, exception.Status);
        Assert.Equal("too big", exception.Detail);
    }

    [Fact]
    public async Task EnsureSuccess_NotAProblemDocument_KeepsTheStatusLine()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>proxy</html>") };

        var exception = await Assert.ThrowsAsync<BackgroundFetchException>(() => BackgroundFetchManager.EnsureSuccessAsync(response, default));

        Assert.Equal(502, exception.Status);
        Assert.Equal("TypeError", exception.Name);
    }

    [Fact]
    public void Request_FromString_IsAGet()
    {
        BackgroundFetchRequest request = "https://podcast.example/ep-5.mp3";

        Assert.Equal("GET", request.Method);
        Assert.Null(request.Body);
    }
}
