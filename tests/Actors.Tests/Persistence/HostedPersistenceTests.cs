using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using AkkaPersistence = Akka.Persistence.Persistence;
using AkkaTestKit = Akka.TestKit.Xunit2.TestKit;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// An actor system configured only through Akka.Hosting extensions, exactly as the node composes it,
/// and a persistent-actor round trip (events, a snapshot, more events, recovery) through its defaults.
/// </summary>
public abstract class HostedPersistenceTests(Action<AkkaConfigurationBuilder> configure, ITestOutputHelper output)
    : AkkaTestKit(Setup(configure), output: output)
{
    private static readonly TimeSpan Timeout = AkkaPluginTestConfig.Timeout;

    private static ActorSystemSetup Setup(Action<AkkaConfigurationBuilder> configure)
    {
        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), "hosted");
        configure(builder);
        return ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(builder.Configuration.Value), .. builder.Setups]);
    }

    /// <summary>The HOCON path of the plugin the system uses by default for journals and for snapshots.</summary>
    protected (string Journal, string SnapshotStore) DefaultPlugins()
    {
        var persistence = AkkaPersistence.Instance.Apply(Sys);
        return (persistence.JournalFor(null).Path.Name, persistence.SnapshotStoreFor(null).Path.Name);
    }

    [Fact]
    public async Task PersistentActor_EventsSnapshotAndMoreEvents_RecoversThroughTheDefaultPlugins()
    {
        var persistenceId = JournalData.NewPersistenceId("hosted");
        var first = Sys.ActorOf(JournaledCounter.Props(persistenceId));
        foreach (var command in new[] { "a", "b" })
        {
            first.Tell(command, TestActor);
            await ExpectMsgAsync("ok:" + command, Timeout);
        }

        first.Tell("snap", TestActor);
        await ExpectMsgAsync("snapshot-saved:2", Timeout);
        first.Tell("c", TestActor);
        await ExpectMsgAsync("ok:c", Timeout);
        Watch(first);
        Sys.Stop(first);
        await ExpectTerminatedAsync(first, Timeout);

        var second = Sys.ActorOf(JournaledCounter.Props(persistenceId));
        second.Tell("get", TestActor);

        Assert.Equal("snapshot(a+b),c", await ExpectMsgAsync<string>(Timeout));
    }
}
