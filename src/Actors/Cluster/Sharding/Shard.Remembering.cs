using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>Remember-entities: the store child, and batching of changes while a write is in flight.</summary>
/// <remarks>
/// Invariant: at most one <see cref="UpdateRememberedEntities"/> is in flight. Changes made meanwhile
/// wait in <see cref="_pendingChanges"/> and go out together, as one atomic write, when it completes:
/// a burst of new entities costs two round trips, not one per entity.
/// </remarks>
internal sealed partial class Shard
{
    private readonly List<object> _pendingChanges = [];
    private IActorRef? _store;
    private UpdateRememberedEntities? _inFlight;

    /// <summary>
    /// Starts the store with a generated name (<c>$…</c>), which no escaped entity id can take, and asks
    /// it for the remembered entities; it answers once it has recovered.
    /// </summary>
    private void StartStore()
    {
        var persistenceId = PersistenceIdFor(_typeName, _shardId);
        var snapshotAfter = _settings.SnapshotAfter;
        _store = Context.ActorOf(Props.Create(() => new RememberedEntitiesStore(persistenceId, snapshotAfter)));
        Context.Watch(_store);
        _store.Tell(GetRememberedEntities.Instance, Self);
    }

    /// <summary>Queues a change for the journal; sends it at once unless a write is in flight.</summary>
    private void Remember(object change)
    {
        _pendingChanges.Add(change);
        if (_inFlight is null)
        {
            SendPendingChanges();
        }
    }

    private void SendPendingChanges()
    {
        if (_pendingChanges.Count == 0)
        {
            return;
        }

        _inFlight = new UpdateRememberedEntities([.. _pendingChanges]);
        _pendingChanges.Clear();
        _store!.Tell(_inFlight, Self);
    }

    /// <summary>
    /// Starts the entities of an update as soon as its write is queued in the journal: the journal stores writes
    /// in the order they were queued, one transaction per batch, so nothing a new entity persists can become
    /// durable before its <see cref="EntityStarted"/>, and the entity's recovery overlaps the write. (If that
    /// write fails the store stops and the shard restarts with its entities, as for any failed update.)
    /// </summary>
    private void OnRememberedEntitiesQueued(RememberedEntitiesQueued queued)
    {
        if (!ReferenceEquals(queued.Update, _inFlight))
        {
            return;
        }

        foreach (var change in queued.Update.Events)
        {
            if (change is EntityStarted started)
            {
                OnStartDurable(started.EntityId);
            }
        }
    }

    private void OnRememberedEntitiesUpdated(RememberedEntitiesUpdated updated)
    {
        if (!ReferenceEquals(updated.Update, _inFlight))
        {
            return;
        }

        _inFlight = null;
        foreach (var change in updated.Update.Events)
        {
            switch (change)
            {
                case EntityStarted started:
                    OnStartDurable(started.EntityId);
                    break;
                case EntityStopped stopped:
                    OnStopDurable(stopped.EntityId);
                    break;
            }
        }

        SendPendingChanges();
    }

    /// <summary>
    /// The store stops only when a write or its recovery failed: what is durable is unknown, so the
    /// shard fails and the region's supervision restarts it (entities included) from the journal.
    /// </summary>
    private void OnStoreTerminated(Terminated terminated) =>
        throw new InvalidOperationException($"Shard {_typeName}/{_shardId}: the remember-entities store stopped (a journal write or the recovery failed).");
}
