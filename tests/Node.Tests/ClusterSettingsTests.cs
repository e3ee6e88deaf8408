using Akka.Hosting;
using BgFetchCluster.Node.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// The cluster settings (docs/api.md, <c>BgFetch:Cluster</c>) and the Akka configuration they produce. Kubernetes
/// discovery is checked through the HOCON only: no Kubernetes API server runs here.
/// </summary>
public sealed class ClusterSettingsTests
{
    [Fact]
    public void KubernetesDiscovery_ConfiguresManagementBootstrapAndTheKubernetesApiDiscovery()
    {
        var cluster = new ClusterSettings { Discovery = ClusterDiscovery.Kubernetes, ServiceName = "fetchers", RequiredContactPoints = 3, ManagementPort = 8600 };
        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), "bgfetch");

        builder.WithClusterFormation(cluster);

        var config = builder.Configuration.Value;
        Assert.Equal("fetchers", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
        Assert.Equal(3, config.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        Assert.Equal(8600, config.GetInt("akka.management.http.port"));

        // Bootstrap uses the default discovery method ("akka.discovery"), which is the Kubernetes API's.
        Assert.Equal("akka.discovery", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
        Assert.Equal("kubernetes-api", config.GetString("akka.discovery.method"));
        Assert.Equal("app={0}", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
    }

    [Theory]
    [InlineData("bgfetch@127.0.0.1:4053")]
    [InlineData("akka.tcp://bgfetch")]
    [InlineData("not an address")]
    public void SeedNodes_Malformed_AreRefusedAtStartNamingTheKey(string seed)
    {
        var cluster = new ClusterSettings { SeedNodes = [seed] };

        var refused = Assert.Throws<InvalidOperationException>(cluster.Validate);

        Assert.Contains("BgFetch:Cluster:SeedNodes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_AreThoseOfApiMd()
    {
        var cluster = new ClusterSettings();

        Assert.Equal("127.0.0.1", cluster.Hostname);
        Assert.Equal(0, cluster.Port);
        Assert.Empty(cluster.SeedNodes);
        Assert.Equal(ClusterDiscovery.None, cluster.Discovery);
        Assert.Equal(100, cluster.NumberOfShards);
        Assert.Equal(200, cluster.WakesPerSecond);
        cluster.Validate();
    }

    [Fact]
    public void WakesPerSecond_ReachesTheNodeOptions_AndTooFewAreRefusedNamingTheKey()
    {
        var settings = new BgFetchSettings { Cluster = new ClusterSettings { WakesPerSecond = 50 } };
        Assert.Equal(50, settings.ToNodeOptions(isDevelopment: true).WakesPerSecond);

        var refused = Assert.Throws<InvalidOperationException>(new ClusterSettings { WakesPerSecond = 0 }.Validate);
        Assert.Contains("BgFetch:Cluster:WakesPerSecond", refused.Message, StringComparison.Ordinal);
    }
}
