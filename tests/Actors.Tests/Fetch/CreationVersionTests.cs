using Akka.Util;
using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// Which creation a node takes during a rolling update (issue 17, cut 1): one ask only when every member's scope indexes
/// read <c>ReserveAndCreate</c>, which members of this version announce through <c>akka.cluster.app-version</c>.
/// </summary>
public sealed class CreationVersionTests
{
    [Fact]
    public void TheProductsHocon_AnnouncesTheVersionThatTakesOneAsk()
    {
        Assert.Equal(FetchHocon.AppVersion, FetchHocon.Config.GetString("akka.cluster.app-version"));
        Assert.True(FetchService.TakesOneAsk([AppVersion.Create(FetchHocon.Config.GetString("akka.cluster.app-version"))]));
    }

    [Fact]
    public void TakesOneAsk_OnlyWhenNoMemberIsOlder()
    {
        var current = FetchService.OneAskVersion;

        // Nodes before cut 1 ran with Akka's default app-version, their entry assembly's 1.0.0.
        var before = AppVersion.Create("1.0.0");
        Assert.True(FetchService.TakesOneAsk([current, current, AppVersion.Create("1.18.0")]));
        Assert.False(FetchService.TakesOneAsk([current, before, current]));
        Assert.True(FetchService.TakesOneAsk([]));
    }
}
