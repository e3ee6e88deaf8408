using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Configuration;
using BgFetchCluster.Node.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Issue 18, item 5: a list setting takes one environment variable with commas
/// (<c>BgFetch__Fetch__DeniedNetworks=10.0.0.0/8,fd00::/8</c>) as well as indexed entries (<c>__0</c>, <c>__1</c>).
/// </summary>
public sealed class ListSettingsTests
{
    /// <summary>Binds the settings the way the node does, from environment variables under a prefix only this test uses.</summary>
    private static BgFetchSettings BindFromEnvironment(Dictionary<string, string> variables)
    {
        var prefix = "BGFETCHLISTTEST" + Guid.NewGuid().ToString("N") + "_";
        foreach (var (name, value) in variables)
        {
            Environment.SetEnvironmentVariable(prefix + name, value);
        }

        try
        {
            var configuration = new ConfigurationManager();
            configuration.AddEnvironmentVariables(prefix);
            configuration.AddCommaSeparatedLists<BgFetchSettings>(BgFetchSettings.SectionName);
            return configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>() ?? new BgFetchSettings();
        }
        finally
        {
            foreach (var name in variables.Keys)
            {
                Environment.SetEnvironmentVariable(prefix + name, null);
            }
        }
    }

    [Fact]
    public void Bind_CommaSeparatedEnvironmentVariables_BindEveryListKeyAsAList()
    {
        var settings = BindFromEnvironment(new()
        {
            ["BgFetch__Fetch__DeniedNetworks"] = "10.0.0.0/8,fd00::/8",
            ["BgFetch__Fetch__AllowedNetworks"] = "10.20.0.0/16, 192.168.7.9",
            ["BgFetch__Cluster__SeedNodes"] = "akka.tcp://bgfetch@10.0.0.5:4053,akka.tcp://bgfetch@10.0.0.6:4053",
        });

        Assert.Equal(["10.0.0.0/8", "fd00::/8"], settings.Fetch.DeniedNetworks);
        Assert.Equal(["10.20.0.0/16", "192.168.7.9"], settings.Fetch.AllowedNetworks);
        Assert.Equal(["akka.tcp://bgfetch@10.0.0.5:4053", "akka.tcp://bgfetch@10.0.0.6:4053"], settings.Cluster.SeedNodes);
        settings.Cluster.Validate();
    }

    [Fact]
    public void Bind_IndexedEnvironmentVariables_StillBindAsBefore()
    {
        var settings = BindFromEnvironment(new()
        {
            ["BgFetch__Fetch__DeniedNetworks__0"] = "10.0.0.0/8",
            ["BgFetch__Fetch__DeniedNetworks__1"] = "fd00::/8",
        });

        Assert.Equal(["10.0.0.0/8", "fd00::/8"], settings.Fetch.DeniedNetworks);
    }

    [Fact]
    public void Bind_OneValueAndIndexedEntries_KeepsBothValueFirst()
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["BgFetch:Fetch:DeniedNetworks:0"] = "172.16.0.0/12" });
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["BgFetch:Fetch:DeniedNetworks"] = "10.0.0.0/8,fd00::/8" });

        configuration.AddCommaSeparatedLists<BgFetchSettings>(BgFetchSettings.SectionName);
        var settings = configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>()!;

        Assert.Equal(["10.0.0.0/8", "fd00::/8", "172.16.0.0/12"], settings.Fetch.DeniedNetworks);
    }

    [Fact]
    public async Task Node_DeniedNetworksFromOneEnvironmentVariable_RefusesTheDeniedOrigin()
    {
        await using var origin = await TestOrigin.StartAsync();
        using var data = new TempDirectory();

        // Development allows private networks, so only the denied list can refuse the loopback origin.
        await using var node = await NodeProcess.StartAsync(
            data.Path,
            NodeProcess.FreePort(),
            ["--BgFetch:Fetch:MaxAttempts=1"],
            new Dictionary<string, string> { ["BgFetch__Fetch__DeniedNetworks"] = "10.0.0.0/8,127.0.0.0/8" });

        using var created = await node.Client.CreateAsync(new { id = "denied", requests = new[] { origin.BaseUrl + "files/a?size=10" } });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var settled = await node.Client.WaitForSettledAsync("denied", TimeSpan.FromSeconds(30));

        Assert.Equal(BackgroundFetchFailureReason.FetchError, settled.FailureReason);
        Assert.DoesNotContain(origin.Requests, r => r.PathAndQuery.StartsWith("/files/a", StringComparison.Ordinal));
    }
}
