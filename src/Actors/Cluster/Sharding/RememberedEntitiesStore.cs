using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>
/// The persistent half of a remembering shard (Akka's <c>EventSourcedRememberEntitiesShardStore</c>):
/// journals <see cref="EntityStarted"/> / <see cref="EntityStopped"/> under <c>shard-{typeName}-{shardId}</c>
/// and answers, once recovered, which entities to restart.
/// </summary>
/// <remarks>
/// It lives apart from the shard because a persistent actor stashes every command while a write is in
/// flight: the shard must keep routing to running entities meanwhile and gather the next batch of
/// changes, so it sends at most one <see cref="UpdateRememberedEntities"/> at a time and this actor
/// writes each one as a single atomic <c>PersistAll</c>. A snapshot holds every remembered entity, so the next
/// is due after as many events as the last one held (at least the configured <c>SnapshotAfter</c>), which keeps
/// their cost per event constant however many entities a shard remembers; only the last two are kept.
/// </remarks>
internal sealed class RememberedEntitiesStore : PersistentActor
{
    private readonly string _persistenceId;
    private readonly int _snapshotAfter;
    private readonly HashSet<string> _entities = new(StringComparer.Ordinal);
    private long _lastSnapshotSequenceNr;
    private int _entitiesInLastSnapshot;

    public RememberedEntitiesStore(string persistenceId, int snapshotAfter)
    {
        _persistenceId = persistenceId;
        _snapshotAfter = snapshotAfter;
        Recover<SnapshotOffer>(offer =>
        {
            _entities.Clear();
            _entities.UnionWith(((RememberedEntitiesSnapshot)offer.Snapshot).EntityIds);
            _entitiesInLastSnapshot = _entities.Count;
            _lastSnapshotSequenceNr = offer.Metadata.SequenceNr;
        });
        Recover<EntityStarted>(Apply);
        Recover<EntityStopped>(Apply);
        Command<GetRememberedEntities>(_ => Sender.Tell(new RememberedEntities([.. _entities]), Self));
        Command<UpdateRememberedEntities>(OnUpdate);
        Command<SaveSnapshotSuccess>(KeepTwoNewestSnapshots);
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId => _persistenceId;

    private void OnUpdate(UpdateRememberedEntities update)
    {
        var remaining = update.Events.Count;
        var before = LastSequenceNr;
        PersistAll(update.Events, @event =>
        {
            Apply(@event);
            if (--remaining > 0)
            {
                return;
            }

            // LastSequenceNr covers the whole batch only once its last handler runs.
            if (LastSequenceNr - _lastSnapshotSequenceNr >= Math.Max(_snapshotAfter, _entitiesInLastSnapshot))
            {
                _lastSnapshotSequenceNr = LastSequenceNr;
                _entitiesInLastSnapshot = _entities.Count;
                SaveSnapshot(new RememberedEntitiesSnapshot([.. _entities]));
            }

            Sender.Tell(new RememberedEntitiesUpdated(update), Self);
        });

        // The write is in the journal's queue: whatever a started entity writes from now on is stored with it or
        // after it, so the shard may start the entities at once instead of waiting a round trip for durability.
        if (LastSequenceNr != before)
        {
            HandPersistedToJournal();
            Sender.Tell(new RememberedEntitiesQueued(update), Self);
        }
    }

    private void Apply(object @event)
    {
        switch (@event)
        {
            case EntityStarted started:
                _entities.Add(started.EntityId);
                break;
            case EntityStopped stopped:
                _entities.Remove(stopped.EntityId);
                break;
        }
    }
}

/// <summary>Asks the store for the remembered entities; answered after recovery.</summary>
internal sealed record GetRememberedEntities
{
    public static GetRememberedEntities Instance { get; } = new();
}

/// <summary>The entities to restart when a shard starts.</summary>
internal sealed record RememberedEntities(IReadOnlyList<string> EntityIds);

/// <summary>Journal these changes atomically, in order; each is an <see cref="EntityStarted"/> or <see cref="EntityStopped"/>.</summary>
internal sealed record UpdateRememberedEntities(IReadOnlyList<object> Events);

/// <summary>The update is in the journal's queue, ahead of anything written after this message is received.</summary>
internal sealed record RememberedEntitiesQueued(UpdateRememberedEntities Update);

/// <summary>The update is durable.</summary>
internal sealed record RememberedEntitiesUpdated(UpdateRememberedEntities Update);
