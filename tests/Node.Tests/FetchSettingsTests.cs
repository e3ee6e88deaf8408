using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Tests;

/// <summary>The <c>BgFetch:Fetch</c> settings: safe defaults outside Development, and clear refusals.</summary>
public sealed class FetchSettingsTests
{
    [Fact]
    public void Defaults_OutsideDevelopment_RefusePrivateNetworks_InDevelopment_AllowThem()
    {
        var settings = new BgFetchSettings();

        var production = settings.ToNodeOptions(isDevelopment: false).Fetch;
        var development = settings.ToNodeOptions(isDevelopment: true).Fetch;

        Assert.False(production.AllowPrivateNetworks);
        Assert.Empty(production.AllowedNetworks);
        Assert.Empty(production.DeniedNetworks);
        Assert.Equal(5, production.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(10), production.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), production.IdleTimeout);
        Assert.True(development.AllowPrivateNetworks);
    }

    [Fact]
    public void Networks_ParseCidrsAddressesAndCommaSeparatedLists()
    {
        var networks = FetchSettings.ParseNetworks(["10.20.0.0/16, fd00::/8", "192.168.7.9"], "AllowedNetworks");

        Assert.Equal(["10.20.0.0/16", "fd00::/8", "192.168.7.9/32"], networks.Select(n => n.ToString()));
    }

    [Theory]
    [InlineData("10.1.2.3/8")]
    [InlineData("not-a-network")]
    [InlineData("10.0.0.0/33")]
    public void Networks_Invalid_AreRefusedNamingTheKeyAndEntry(string entry)
    {
        var failure = Assert.Throws<InvalidOperationException>(() => FetchSettings.ParseNetworks([entry], "DeniedNetworks"));

        Assert.Contains("BgFetch:Fetch:DeniedNetworks", failure.Message, StringComparison.Ordinal);
        Assert.Contains(entry, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(StorageSettings.MaxInlineBodyBytes + 1)]
    public void InlineBodyBytes_OutOfRange_IsRefusedNamingTheKey(int bytes)
    {
        var settings = new BgFetchSettings { Storage = new StorageSettings { InlineBodyBytes = bytes } };

        var failure = Assert.Throws<InvalidOperationException>(() => settings.Validate(isDevelopment: true));

        Assert.Contains("BgFetch:Storage:InlineBodyBytes", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InlineBodyBytes_DefaultsTo4KiBAndReachesTheNode()
    {
        var settings = new BgFetchSettings();

        Assert.Equal(4096, settings.ToNodeOptions(isDevelopment: false).InlineBodyBytes);
        Assert.Equal(0, new BgFetchSettings { Storage = new StorageSettings { InlineBodyBytes = 0 } }.ToNodeOptions(isDevelopment: false).InlineBodyBytes);
    }

    [Fact]
    public void ParkPendingAfter_Defaults30Seconds_ReachesTheNode_ZeroMeansNever_AndTooShortIsRefusedNamingTheKey()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), new BgFetchSettings().ToNodeOptions(isDevelopment: false).Fetch.ParkPendingAfter);
        var never = new BgFetchSettings { Fetch = new FetchSettings { ParkPendingAfter = TimeSpan.Zero } };
        never.Validate(isDevelopment: true);
        Assert.Equal(TimeSpan.Zero, never.ToNodeOptions(isDevelopment: true).Fetch.ParkPendingAfter);

        foreach (var refused in (TimeSpan[])[TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(-1)])
        {
            var settings = new BgFetchSettings { Fetch = new FetchSettings { ParkPendingAfter = refused } };
            var failure = Assert.Throws<InvalidOperationException>(() => settings.Validate(isDevelopment: true));
            Assert.Contains("BgFetch:Fetch:ParkPendingAfter", failure.Message, StringComparison.Ordinal);
        }
    }
}
