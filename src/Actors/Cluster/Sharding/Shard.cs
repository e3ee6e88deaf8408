using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;
using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>
/// One shard of an entity type (Akka's <c>Shard</c>): starts entity children on demand, routes their
/// messages, passivates them, and (with remember-entities) journals which are running so that a
/// restarted shard starts them again. The entity lifecycle is in <c>Shard.Lifecycle.cs</c>; the
/// journaling in <c>Shard.Remembering.cs</c>.
/// </summary>
internal sealed partial class Shard : ActorBase
{
    private readonly string _typeName;
    private readonly string _shardId;
    private readonly Func<string, Props> _entityProps;
    private readonly ShardingSettings _settings;
    private readonly ILogger _logger;
    private readonly Dictionary<string, EntityEntry> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _idByRef = [];

    public Shard(string typeName, string shardId, Func<string, Props> entityProps, ShardingSettings settings)
    {
        _typeName = typeName;
        _shardId = shardId;
        _entityProps = entityProps;
        _settings = settings;
        _logger = Context.System.LoggerFactory.CreateLogger<Shard>();
        if (settings.RememberEntities)
        {
            Become(WaitingForRememberedEntities);
        }
        else
        {
            Become(Running);
        }
    }

    /// <summary>The journal key of this shard's remembered entities.</summary>
    internal static string PersistenceIdFor(string typeName, string shardId) => $"shard-{typeName}-{shardId}";

    /// <summary>A safe, unique child name: ids may hold '/', spaces and any Unicode, names may not.</summary>
    /// <remarks>
    /// EscapeDataString leaves only unreserved ASCII and '%XX', so a name never contains '/' nor starts
    /// with '$', which the kernel reserves for generated names such as the store's.
    /// </remarks>
    internal static string ChildNameFor(string entityId) => Uri.EscapeDataString(entityId);

    protected override void PreStart()
    {
        if (_settings.RememberEntities)
        {
            StartStore();
        }
    }

    /// <summary>Until the remembered entities are known, everything waits: a message could start an entity twice.</summary>
    private void WaitingForRememberedEntities()
    {
        Receive<RememberedEntities>(OnRememberedEntities);
        Receive<Terminated>(OnStoreTerminated, t => ReferenceEquals(t.ActorRef, _store));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running()
    {
        Receive<ShardEnvelope>(envelope => Deliver(envelope.EntityId, envelope.Message, Sender));
        Receive<IEntityMessage>(message => Deliver(message.EntityId, message, Sender));
        Receive<Passivate>(OnPassivate);
        Receive<Terminated>(OnStoreTerminated, t => ReferenceEquals(t.ActorRef, _store));
        Receive<Terminated>(OnEntityTerminated);
        Receive<RestartEntity>(OnRestartEntity);
        Receive<RememberedEntitiesQueued>(OnRememberedEntitiesQueued);
        Receive<RememberedEntitiesUpdated>(OnRememberedEntitiesUpdated);
        Receive<GetShardStats>(_ => Sender.Tell(new ShardStats(_shardId, _entities.Count), Self));
    }

    private void OnRememberedEntities(RememberedEntities remembered)
    {
        foreach (var entityId in remembered.EntityIds)
        {
            // Already durable: straight to Active, no EntityStarted to write again.
            var entry = new EntityEntry();
            _entities[entityId] = entry;
            Transition(entityId, entry, EntityState.Active);
        }

        LogRememberedEntitiesStarted(_logger, _typeName, _shardId, remembered.EntityIds.Count);
        Become(Running);
        Stash.UnstashAll();
    }

    private void Deliver(string entityId, object message, IActorRef sender)
    {
        if (string.IsNullOrEmpty(entityId))
        {
            Context.System.DeadLetters.Tell(message, sender);
            return;
        }

        if (!_entities.TryGetValue(entityId, out var entry))
        {
            entry = new EntityEntry();
            _entities[entityId] = entry;
            entry.Buffer(message, sender);
            BeginStart(entityId, entry);
            return;
        }

        switch (entry.State)
        {
            case EntityState.Active:
                entry.Ref!.Tell(message, sender);
                break;
            case EntityState.WaitingForRestart:
                // A message is a reason to restart now rather than after the backoff.
                Timers.Cancel(new RestartTimerKey(entityId));
                Transition(entityId, entry, EntityState.Active);
                entry.Ref!.Tell(message, sender);
                break;
            default:
                entry.Buffer(message, sender);
                break;
        }
    }

    private void OnPassivate(Passivate passivate)
    {
        if (!_idByRef.TryGetValue(Sender, out var entityId) || _entities[entityId] is not { State: EntityState.Active } entry)
        {
            // Not one of ours, or already passivating: nothing to do.
            return;
        }

        Transition(entityId, entry, EntityState.Passivating);
        entry.Ref!.Tell(passivate.StopMessage, Self);
    }

    private void OnEntityTerminated(Terminated terminated)
    {
        if (!_idByRef.Remove(terminated.ActorRef, out var entityId) || !_entities.TryGetValue(entityId, out var entry))
        {
            return;
        }

        entry.Ref = null;
        if (entry.State == EntityState.Passivating || !_settings.RememberEntities)
        {
            BeginStop(entityId, entry);
            return;
        }

        // Stopped (or failed for good) without passivating: a remembered entity comes back, as in Akka.
        Transition(entityId, entry, EntityState.WaitingForRestart);
        LogEntityRestartScheduled(_logger, _typeName, entityId, _settings.EntityRestartBackoff);
        Timers.StartSingleTimer(new RestartTimerKey(entityId), new RestartEntity(entityId), _settings.EntityRestartBackoff);
    }

    private void OnRestartEntity(RestartEntity restart)
    {
        if (_entities.TryGetValue(restart.EntityId, out var entry) && entry.State == EntityState.WaitingForRestart)
        {
            Transition(restart.EntityId, entry, EntityState.Active);
        }
    }

    /// <summary>
    /// Starts an entity child, its mailbox already holding <paramref name="buffered"/> (so the message that
    /// started it is the first it sees), and watches it; called only by <see cref="Transition"/> on entering Active.
    /// </summary>
    private IActorRef SpawnEntity(string entityId, IEnumerable<(object Message, IActorRef? Sender)> buffered)
    {
        var entity = Cell.ActorOf(_entityProps(entityId), ChildNameFor(entityId), buffered);
        Context.Watch(entity);
        _idByRef[entity] = entityId;
        return entity;
    }

    private sealed record RestartTimerKey(string EntityId);

    private sealed record RestartEntity(string EntityId);
}
