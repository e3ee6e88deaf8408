using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management;
using Akka.Management.Cluster.Bootstrap;
using Akka.Remote.Hosting;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Node.Configuration;

/// <summary>The node's actor system, composed in one Akka.Hosting chain.</summary>
public static class AkkaComposition
{
    /// <summary>The actor system's name; it is part of every cluster address (<c>akka.tcp://bgfetch@host:port</c>).</summary>
    public const string SystemName = "bgfetch";

    /// <summary>
    /// Adds the actor system: remoting, clustering with the Split Brain Resolver (keep-majority), how the node
    /// finds its cluster (seed nodes, Kubernetes bootstrap, or itself), persistence, the fetch domain, logging
    /// through <see cref="ILoggerFactory"/>, and last the <c>akka</c> configuration section, so an operator can
    /// override any Akka setting.
    /// </summary>
    public static IServiceCollection AddBgFetchAkka(this IServiceCollection services, BgFetchSettings settings, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddAkka(SystemName, (akka, provider) =>
        {
            var node = provider.GetRequiredService<FetchNode>();
            akka.ConfigureLoggers(loggers =>
                {
                    loggers.ClearLoggers();
                    loggers.AddLoggerFactory();
                })
                .WithRemoting(hostname: settings.Cluster.Hostname, port: settings.Cluster.Port)
                .WithClustering(new ClusterOptions
                {
                    SeedNodes = [.. settings.Cluster.SeedNodes],
                    SplitBrainResolver = new KeepMajorityOption(),
                })
                .WithClusterFormation(settings.Cluster)
                .WithNodePersistence(node.Options)
                .WithBgFetch(node);
            if (AkkaSectionHocon.From(configuration.GetSection("akka")) is { } overrides)
            {
                akka.AddHocon(overrides, HoconAddMode.Prepend);
            }
        });
    }

    /// <summary>
    /// How the node finds its cluster: Kubernetes bootstrap (Akka Management probes the pods the Kubernetes API
    /// lists), the configured seed nodes (Akka joins them itself), or, with neither, the node joins itself.
    /// </summary>
    public static AkkaConfigurationBuilder WithClusterFormation(this AkkaConfigurationBuilder akka, ClusterSettings cluster)
    {
        ArgumentNullException.ThrowIfNull(akka);
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.Discovery == ClusterDiscovery.Kubernetes)
        {
            return akka
                .WithAkkaManagement(port: cluster.ManagementPort, hostName: cluster.Hostname)
                .WithClusterBootstrap(options =>
                {
                    options.ContactPointDiscovery.ServiceName = cluster.ServiceName;
                    options.ContactPointDiscovery.RequiredContactPointsNr = cluster.RequiredContactPoints;
                })
                .WithKubernetesDiscovery(options => options.PodLabelSelector = cluster.PodLabelSelector);
        }

        if (cluster.SeedNodes.Count > 0)
        {
            return akka;
        }

        return akka.AddStartup((system, _) =>
        {
            // No seeds and no discovery: this node is a cluster of one, and joins itself.
            var self = Akka.Cluster.Cluster.Get(system);
            self.Join(self.SelfAddress);
        });
    }

    /// <summary>The journal and snapshot store the options name (<c>BgFetch:Storage:Journal</c>).</summary>
    private static AkkaConfigurationBuilder WithNodePersistence(this AkkaConfigurationBuilder akka, FetchNodeOptions options) =>
        options.Journal switch
        {
            // Both within the node's connection budget (BgFetch:Storage:MaxConnections): Akka.Persistence.Sql in its own
            // pool of half of it, the product's plugin in the pool it shares with the bodies.
            // Akka's sharding state stays on the product's sharding plugins, which wait out any outage (issue 19).
            JournalPlugin.AkkaSql => akka
                .WithAkkaSqlPersistence(options.Provider, options.AkkaSqlConnectionString, outageTolerance: options.OutageTolerance)
                .WithBgFetchShardingPersistence(options.Provider, options.BudgetedConnectionString, options.PostgreSqlSchema),
            _ => akka.WithBgFetchPersistence(
                options.Provider, options.BudgetedConnectionString, options.PostgreSqlSchema, outageTolerance: options.OutageTolerance, journalLinger: options.JournalLinger),
        };
}
