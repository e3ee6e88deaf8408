using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using BgFetchCluster.Actors.Persistence.Plugin;

namespace BgFetchCluster.Bench;

/// <summary>Asks a sharded entity to persist <see cref="BenchEntity.EventsPerCommand"/> events.</summary>
internal sealed record Work(string EntityId);

/// <summary>The entity's answer once the events of one <see cref="Work"/> are durable.</summary>
internal sealed record Persisted(long SequenceNr);

/// <summary>
/// The shape of a registration as the journal sees it: a sharded, remembered entity that recovers, then
/// persists three events per command (like <c>FetchRegistered</c> and its first record events) and
/// answers when the last is durable. It never snapshots, so it skips the snapshot store on recovery,
/// as the product's entities do.
/// </summary>
internal sealed class BenchEntity : ReceivePersistentActor
{
    public const int EventsPerCommand = 3;

    // About the size of a small registration's events in the product's JSON.
    private static readonly string Padding = new('x', 160);

    public BenchEntity(string entityId)
    {
        PersistenceId = "bench-" + entityId;
        SnapshotPluginId = BgFetchPersistence.NoSnapshotStorePluginId;
        Recover<string>(_ => { });
        Command<Work>(work =>
        {
            var events = new string[EventsPerCommand];
            for (var i = 0; i < events.Length; i++)
            {
                events[i] = $"{work.EntityId}:{LastSequenceNr + i + 1}:{Padding}";
            }

            // One atomic write; the handler runs per event, in order, with the command's sender: the last answers.
            var persisted = 0;
            PersistAll(events, _ =>
            {
                if (++persisted == EventsPerCommand)
                {
                    Sender.Tell(new Persisted(LastSequenceNr));
                }
            });
        });
    }

    public override string PersistenceId { get; }

    public static Props Props(string entityId) => Akka.Actor.Props.Create(() => new BenchEntity(entityId));
}

/// <summary>Routes <see cref="Work"/> by its entity id; remember-entities' <c>StartEntity</c> is the base class's.</summary>
internal sealed class BenchExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => (message as Work)?.EntityId;
}
