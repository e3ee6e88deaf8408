using System.Globalization;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>
/// The entry point of one sharded entity type on this node (Akka's <c>ShardRegion</c>): routes each
/// message to the shard of its entity id, starting shards on demand. With remember-entities it starts
/// every shard at once, so each recovers and restarts its remembered entities (unsettled work resumes
/// after a node restart without waiting for a message).
/// </summary>
/// <remarks>
/// Embedded mode: this node owns every shard. Leases and forwarding to other nodes come later; the
/// routing key (<see cref="ShardHash"/>) is already the cluster-wide one.
/// </remarks>
public sealed class ShardRegion : ActorBase
{
    private readonly string _typeName;
    private readonly Func<string, Props> _entityProps;
    private readonly ShardingSettings _settings;
    private readonly Dictionary<int, IActorRef> _shards = [];
    private readonly Dictionary<IActorRef, int> _shardByRef = [];

    private ShardRegion(string typeName, Func<string, Props> entityProps, ShardingSettings settings)
    {
        _typeName = typeName;
        _entityProps = entityProps;
        _settings = settings;
        Receive<ShardEnvelope>(envelope => Route(envelope.EntityId, envelope));
        Receive<IEntityMessage>(message => Route(message.EntityId, message));
        Receive<GetShardRegionStats>(_ => ReplyStats());
        Receive<GetShardIds>(_ => Sender.Tell(new ShardIds([.. _shards.Keys.Order().Select(FormatShardId)]), Self));
        Receive<Terminated>(OnShardTerminated);
        Receive<RestartShard>(restart => GetOrStartShard(restart.ShardId));
    }

    /// <summary>
    /// Starts the region of <paramref name="typeName"/> under <c>/user/sharding-{typeName}</c> and returns
    /// it. Send it <see cref="ShardEnvelope"/>s or <see cref="IEntityMessage"/>s; <paramref name="entityProps"/>
    /// makes the entity for an id. With remember-entities, persistence must be registered first and the
    /// sharding events registered with its serializer (<see cref="ShardingSerialization.Register"/>).
    /// </summary>
    public static IActorRef Start(ActorSystem system, string typeName, Func<string, Props> entityProps, ShardingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        ArgumentNullException.ThrowIfNull(entityProps);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return system.ActorOf(Props.Create(() => new ShardRegion(typeName, entityProps, settings)), RegionNameFor(typeName));
    }

    /// <summary>The region's actor name: <c>sharding-{typeName}</c>, escaped to a valid name.</summary>
    public static string RegionNameFor(string typeName)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        return "sharding-" + Uri.EscapeDataString(typeName);
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_settings.RememberEntities)
        {
            for (var shardId = 0; shardId < _settings.NumberOfShards; shardId++)
            {
                GetOrStartShard(shardId);
            }
        }
    }

    /// <summary>A failing shard restarts from its journal after a backoff, so a broken store is not hammered.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new(
        static _ => Directive.Restart,
        maxRetries: 10,
        window: TimeSpan.FromMinutes(1),
        minBackoff: _settings.EntityRestartBackoff / 10,
        maxBackoff: _settings.EntityRestartBackoff);

    private static string FormatShardId(int shardId) => shardId.ToString(CultureInfo.InvariantCulture);

    private void Route(string entityId, object message)
    {
        if (string.IsNullOrEmpty(entityId))
        {
            // No shard can own an entity without an id.
            Unhandled(message);
            return;
        }

        GetOrStartShard(ShardHash.ShardOf(entityId, _settings.NumberOfShards)).Tell(message, Sender);
    }

    private IActorRef GetOrStartShard(int shardId)
    {
        if (_shards.TryGetValue(shardId, out var shard))
        {
            return shard;
        }

        Timers.Cancel(new RestartShard(shardId));
        var id = FormatShardId(shardId);
        shard = Context.ActorOf(Props.Create(() => new Shard(_typeName, id, _entityProps, _settings)), id);
        Context.Watch(shard);
        _shards[shardId] = shard;
        _shardByRef[shard] = shardId;
        return shard;
    }

    private void OnShardTerminated(Terminated terminated)
    {
        if (!_shardByRef.Remove(terminated.ActorRef, out var shardId))
        {
            return;
        }

        _shards.Remove(shardId);
        if (_settings.RememberEntities)
        {
            // Its remembered entities must come back even if no message arrives for them.
            Timers.StartSingleTimer(new RestartShard(shardId), new RestartShard(shardId), _settings.EntityRestartBackoff);
        }
    }

    private void ReplyStats()
    {
        var replyTo = Sender;
        var asks = _shards.Values
            .Select(shard => shard.Ask<ShardStats>(GetShardStats.Instance))
            .ToArray();
        _ = Task.WhenAll(asks).PipeTo(
            replyTo,
            Self,
            success: stats => new ShardRegionStats(stats.ToDictionary(s => s.ShardId, s => s.EntityCount, StringComparer.Ordinal)));
    }

    /// <summary>Starts a shard that stopped; also the key of its timer.</summary>
    private sealed record RestartShard(int ShardId);
}
