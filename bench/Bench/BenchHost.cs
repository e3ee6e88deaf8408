using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Remote.Hosting;
using BgFetchCluster.Actors.Fetch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using AkkaCluster = Akka.Cluster.Cluster;

namespace BgFetchCluster.Bench;

/// <summary>
/// A cluster of one composed like the node (src/Node/Configuration/AkkaComposition.cs): remoting on
/// loopback, clustering joined to itself, the persistence under test, the product's sharding HOCON
/// (<see cref="FetchHocon"/>), and one region of <see cref="BenchEntity"/> with remember-entities on the
/// eventsourced store, as the product's regions have.
/// </summary>
internal static class BenchHost
{
    public const string RegionName = "bench";

    public static async Task<(IHost Host, ActorSystem System, IActorRef Region)> StartAsync(
        Action<AkkaConfigurationBuilder> persistence,
        int numberOfShards,
        CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });

        // Stdout is the report; Akka's warnings go to stderr.
        builder.Logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka("bench", (akka, _) =>
        {
            akka.ConfigureLoggers(loggers =>
                {
                    loggers.LogLevel = Akka.Event.LogLevel.WarningLevel;
                    loggers.ClearLoggers();
                    loggers.AddLoggerFactory();
                })
                .WithRemoting(hostname: "127.0.0.1", port: 0)
                .WithClustering(new ClusterOptions());
            persistence(akka);
            akka.AddHocon(FetchHocon.Config, HoconAddMode.Prepend)
                .WithShardRegion<BenchEntity>(
                    RegionName,
                    BenchEntity.Props,
                    new BenchExtractor(numberOfShards),
                    new ShardOptions
                    {
                        RememberEntities = true,
                        RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
                        StateStoreMode = StateStoreMode.DData,
                        ShouldPassivateIdleEntities = false,
                    })
                .AddStartup((system, _) =>
                {
                    var cluster = AkkaCluster.Get(system);
                    cluster.Join(cluster.SelfAddress);
                });
        });

        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AkkaCluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<BenchEntity>(cancellationToken);
        return (host, system, region);
    }
}
