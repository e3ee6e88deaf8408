using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Node.Configuration;

/// <summary>The node's actor system, composed in one Akka.Hosting chain.</summary>
public static class AkkaComposition
{
    /// <summary>The actor system's name; it is part of every cluster address (<c>akka.tcp://bgfetch@host:port</c>).</summary>
    public const string SystemName = "bgfetch";

    /// <summary>The journal and snapshot store the options name (<c>BgFetch:Storage:Journal</c>).</summary>
    private static AkkaConfigurationBuilder WithNodePersistence(this AkkaConfigurationBuilder akka, FetchNodeOptions options) =>
        options.Journal switch
        {
            JournalPlugin.AkkaSql => akka.WithAkkaSqlPersistence(options.Provider, options.JournalConnectionString),
            _ => akka.WithBgFetchPersistence(options.Provider, options.JournalConnectionString, options.PostgreSqlSchema),
        };

    /// <summary>
    /// Adds the actor system: remoting, clustering (a cluster of one when no seed nodes are configured),
    /// persistence, the fetch domain, logging through <see cref="ILoggerFactory"/>, and last the
    /// <c>akka</c> configuration section, so an operator can override any Akka setting.
    /// </summary>
    public static IServiceCollection AddBgFetchAkka(this IServiceCollection services, BgFetchSettings settings, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(configuration);
        var cluster = settings.Cluster;
        return services.AddAkka(SystemName, (akka, provider) =>
        {
            var node = provider.GetRequiredService<FetchNode>();
            akka.ConfigureLoggers(loggers =>
                {
                    loggers.ClearLoggers();
                    loggers.AddLoggerFactory();
                })
                .WithRemoting(hostname: cluster.Hostname, port: cluster.Port)
                .WithClustering(new ClusterOptions { SeedNodes = [.. cluster.SeedNodes] })
                .WithNodePersistence(node.Options)
                .WithBgFetch(node)
                .AddStartup((system, _) =>
                {
                    if (cluster.SeedNodes.Count == 0)
                    {
                        // No seeds and no discovery: this node is a cluster of one, and joins itself.
                        var self = Akka.Cluster.Cluster.Get(system);
                        self.Join(self.SelfAddress);
                    }
                });
            if (AkkaSectionHocon.From(configuration.GetSection("akka")) is { } overrides)
            {
                akka.AddHocon(overrides, HoconAddMode.Prepend);
            }
        });
    }
}
