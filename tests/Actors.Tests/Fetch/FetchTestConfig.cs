using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Actors.Serialization;
using BgFetchCluster.Actors.Tests.Persistence;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// The ActorSystem configuration of the fetch actors' tests: the product's persistence plugin over a real SQLite
/// file as the default journal and snapshot store, the product's serializer bound as <c>WithBgFetch</c> binds it,
/// and every message crossing a serializer (<c>akka.actor.serialize-messages = on</c>, docs/architecture.md).
/// </summary>
internal static class FetchTestConfig
{
    /// <summary>How long any expected reply may take; generous for a loaded 2-core machine, never waited out on success.</summary>
    public static TimeSpan Timeout => AkkaPluginTestConfig.Timeout;

    /// <summary>
    /// The configuration over <paramref name="sqliteConnectionString"/>. Only a test of a failing journal write may turn
    /// <paramref name="serializeMessages"/> off: Akka's AsyncWriteJournal hands the failure to its resequencer inside an
    /// internal message that is not exempt from verification, and the exception in it does not survive Akka's default
    /// serializer, so with verification on the failure never reaches the actor.
    /// </summary>
    public static Config For(string sqliteConnectionString, bool serializeMessages = true) =>
        AkkaPluginTestConfig.For(BgFetchPersistence.Config(StorageProvider.Sqlite, sqliteConnectionString).WithFallback(Serializer), serializeMessages)
            .WithFallback(DistributedPubSub.DefaultConfig());

    private static Config Serializer { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor.serializers.bgfetch = "{{Name(typeof(BgFetchSerializer))}}"
        akka.actor.serialization-bindings {
        {{string.Join("\n", BgFetchSerializer.BoundTypes.Select(type => $"  \"{Name(type)}\" = bgfetch"))}}
        }
        """);

    private static string Name(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
