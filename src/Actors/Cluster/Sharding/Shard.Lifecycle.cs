using System.Diagnostics;
using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>The entity lifecycle: one state per entity id, changed only through <see cref="Transition"/>.</summary>
/// <remarks>
/// <code>
///            first message                 EntityStarted queued
///   (none) ───────────────▶ Starting ─────────────────────────────▶ Active ◀──────────────┐
///     │  ▲                  (buffers)      (at once when not        │  │  │               │ backoff elapsed
///     │  │                     ▲            remembering)            │  │  │ stopped       │ or a message
///     │  │ EntityStopped       │ messages were buffered    Passivate│  │  └─ without ──▶ WaitingForRestart
///     │  │ durable, no         │                                   ▼  │    passivating    (remembered only)
///     │  │ buffered messages   │                          Passivating │
///     │  │                     │                           (buffers)  │ stopped, not remembering
///     │  └──────────────── Stopped ◀────────── Terminated ───┘        │
///     │                    (buffers) ◀────────────────────────────────┘
///     └──────────────────────────────────────────────────────────────▶ Active
///       remembered on recovery (already durable)
/// </code>
/// Starting, Passivating and Stopped hold the entity's new messages and deliver them, in order, to the
/// next incarnation. An entity actor exists exactly in Active and Passivating. "EntityStarted queued": the
/// write is in the journal's queue (not yet durable), which orders it before anything the entity persists.
/// </remarks>
internal sealed partial class Shard
{
    /// <summary>Where an entity is in its lifecycle; see the diagram on this partial.</summary>
    internal enum EntityState
    {
        /// <summary>Not tracked by the shard (the entry is removed).</summary>
        None,

        /// <summary>EntityStarted is not yet queued in the journal (a write is in flight); messages are buffered.</summary>
        Starting,

        /// <summary>The entity runs and receives its messages directly.</summary>
        Active,

        /// <summary>The entity was sent its stop message; messages are buffered.</summary>
        Passivating,

        /// <summary>The entity has terminated; EntityStopped is being journaled; messages are buffered.</summary>
        Stopped,

        /// <summary>A remembered entity stopped without passivating and is restarted after the backoff.</summary>
        WaitingForRestart,
    }

    private static bool IsLegal(EntityState from, EntityState to) => (from, to) switch
    {
        (EntityState.None, EntityState.Starting) => true,
        (EntityState.None, EntityState.Active) => true,
        (EntityState.Starting, EntityState.Active) => true,
        (EntityState.Active, EntityState.Passivating) => true,
        (EntityState.Active, EntityState.Stopped) => true,
        (EntityState.Active, EntityState.WaitingForRestart) => true,
        (EntityState.Passivating, EntityState.Stopped) => true,
        (EntityState.Stopped, EntityState.None) => true,
        (EntityState.Stopped, EntityState.Starting) => true,
        (EntityState.WaitingForRestart, EntityState.Active) => true,
        _ => false,
    };

    /// <summary>
    /// The one place an entity changes state. Entering Active starts the child and hands it the
    /// buffered messages; entering None forgets the entry. An illegal move is a bug in the shard: it
    /// throws, and the region's supervision restarts the shard from its journal.
    /// </summary>
    private void Transition(string entityId, EntityEntry entry, EntityState to)
    {
        var from = entry.State;
        if (!IsLegal(from, to))
        {
            throw new InvalidOperationException($"Shard {_typeName}/{_shardId}: entity '{entityId}' cannot move from {from} to {to}.");
        }

        entry.State = to;
        switch (to)
        {
            case EntityState.Active:
                entry.Ref = SpawnEntity(entityId, entry.TakeBuffered());
                break;
            case EntityState.None:
                _entities.Remove(entityId);
                break;
        }

        AssertInvariants(entityId, entry);
    }

    /// <summary>(none) or Stopped to Starting; Active as soon as the start is queued in the journal (at once when not remembering).</summary>
    private void BeginStart(string entityId, EntityEntry entry)
    {
        Transition(entityId, entry, EntityState.Starting);
        if (_settings.RememberEntities)
        {
            Remember(new EntityStarted(entityId));
        }
        else
        {
            OnStartDurable(entityId);
        }
    }

    /// <summary>Active or Passivating to Stopped; forgotten (or started again) once the stop is durable.</summary>
    private void BeginStop(string entityId, EntityEntry entry)
    {
        Transition(entityId, entry, EntityState.Stopped);
        if (_settings.RememberEntities)
        {
            Remember(new EntityStopped(entityId));
        }
        else
        {
            OnStopDurable(entityId);
        }
    }

    /// <summary>The entity's EntityStarted is queued in the journal (or durable): it may run.</summary>
    private void OnStartDurable(string entityId)
    {
        if (_entities.TryGetValue(entityId, out var entry) && entry.State == EntityState.Starting)
        {
            Transition(entityId, entry, EntityState.Active);
        }
    }

    private void OnStopDurable(string entityId)
    {
        if (!_entities.TryGetValue(entityId, out var entry) || entry.State != EntityState.Stopped)
        {
            return;
        }

        if (entry.HasBuffered)
        {
            // Messages arrived while it passivated: a fresh incarnation receives them.
            BeginStart(entityId, entry);
        }
        else
        {
            Transition(entityId, entry, EntityState.None);
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants(string entityId, EntityEntry entry)
    {
        var hasActor = entry.State is EntityState.Active or EntityState.Passivating;
        Debug.Assert(hasActor == entry.Ref is not null, $"{entityId}: an entity actor exists exactly in Active and Passivating, not {entry.State}.");
        Debug.Assert(entry.State is not EntityState.Active || !entry.HasBuffered, $"{entityId}: an Active entity buffers nothing.");
        Debug.Assert(entry.State is EntityState.None != _entities.ContainsKey(entityId), $"{entityId}: only a None entry is untracked.");
    }

    /// <summary>The shard's bookkeeping for one entity id.</summary>
    private sealed class EntityEntry
    {
        private Queue<(object Message, IActorRef Sender)>? _buffer;

        public EntityState State { get; set; }

        /// <summary>The running incarnation (Active, Passivating), else null.</summary>
        public IActorRef? Ref { get; set; }

        public bool HasBuffered => _buffer is { Count: > 0 };

        public void Buffer(object message, IActorRef sender) => (_buffer ??= new()).Enqueue((message, sender));

        /// <summary>The held messages in arrival order, each with its sender; the buffer is empty afterwards.</summary>
        public IEnumerable<(object Message, IActorRef? Sender)> TakeBuffered()
        {
            var buffered = _buffer;
            _buffer = null;
            return buffered is null ? [] : buffered.Select(static held => (held.Message, (IActorRef?)held.Sender)).ToList();
        }
    }
}
