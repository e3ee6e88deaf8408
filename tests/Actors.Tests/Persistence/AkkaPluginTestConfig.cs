using Akka.Configuration;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>The ActorSystem configuration shared by the Akka plugin contract tests.</summary>
internal static class AkkaPluginTestConfig
{
    /// <summary>How long any expected reply may take; generous for a loaded 2-core machine, never waited out on success.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A snapshot store that fails every call (its SQLite file would live in a directory that does not
    /// exist): an actor recovers through it only if it never asks it anything.
    /// </summary>
    public const string UnreachableSnapshotStorePluginId = "bgfetch-test.unreachable-snapshot-store";

    private static readonly string TestAssembly = typeof(AkkaPluginTestConfig).Assembly.GetName().Name!;

    /// <summary>
    /// <see cref="For"/>, with the unreachable snapshot store as the default: an actor that recovers on
    /// such a system has proven that it asked no snapshot store.
    /// </summary>
    public static Config ForJournal(Config storage, bool serializeMessages = true) =>
        ConfigurationFactory.ParseString($"akka.persistence.snapshot-store.plugin = \"{UnreachableSnapshotStorePluginId}\"")
            .WithFallback(For(storage, serializeMessages));

    /// <summary>
    /// <paramref name="storage"/> (the plugins' HOCON) over settings every test system shares: every
    /// message crosses a serializer (docs/architecture.md), <see cref="Unserializable"/> is bound to a serializer that
    /// refuses it, and Akka's sharding serializers are registered as a remember-entities node has them.
    /// </summary>
    public static Config For(Config storage, bool serializeMessages = true)
    {
        var unreachable = Path.Combine(Path.GetTempPath(), "bgfetch-missing-" + Guid.NewGuid().ToString("N"), "snapshots.db");
        var shared = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.actor.serialize-messages = {{(serializeMessages ? "on" : "off")}}
            akka.actor.serializers.refusing = "{{typeof(RefusingSerializer).FullName}}, {{TestAssembly}}"
            akka.actor.serialization-bindings {
                "{{typeof(Unserializable).FullName}}, {{TestAssembly}}" = refusing
            }
            {{UnreachableSnapshotStorePluginId}} {
                class = "{{typeof(BgFetchSnapshotStore).FullName}}, {{typeof(BgFetchSnapshotStore).Assembly.GetName().Name}}"
                plugin-dispatcher = "akka.actor.default-dispatcher"
                provider = sqlite
                connection-string = "Data Source={{unreachable}}"
            }
            """);
        return storage.WithFallback(shared).WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig());
    }
}
