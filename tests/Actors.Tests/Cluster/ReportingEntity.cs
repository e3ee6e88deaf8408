using BgFetchCluster.Actors.Cluster.Sharding;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Tests.Cluster;

/// <summary>A message that routes by its own entity id, without an envelope.</summary>
public sealed record Ping(string EntityId, int Sequence) : IEntityMessage;

/// <summary>An entity's answer: which incarnation handled which ping.</summary>
public sealed record Pong(string EntityId, int Sequence, Guid Incarnation);

/// <summary>
/// A sharded entity that reports its lifecycle to a probe ("started:{id}", "stopped:{id}") and obeys
/// string commands sent in a <see cref="ShardEnvelope"/>.
/// </summary>
internal sealed class ReportingEntity : ActorBase
{
    private readonly string _id;
    private readonly IActorRef _probe;

    public ReportingEntity(string id, IActorRef probe)
    {
        _id = id;
        _probe = probe;
        var incarnation = Guid.NewGuid();
        Receive<Ping>(ping => probe.Tell(new Pong(id, ping.Sequence, incarnation), Self));
        Receive<string>(command =>
        {
            switch (command)
            {
                case "crash":
                    throw new InvalidOperationException($"{id} crashes on request");
                case "stop":
                    Context.Stop(Self);
                    break;
                case "passivate":
                    Context.Parent.Tell(new Passivate(PoisonPill.Instance), Self);
                    break;
                case "passivate-slowly":
                    Context.Parent.Tell(new Passivate("bye"), Self);
                    break;
                case "bye":
                    // Holds the passivation open until the test says "stop-now" directly to this incarnation.
                    probe.Tell($"bye:{id}", Self);
                    break;
                case "stop-now":
                    Context.Stop(Self);
                    break;
            }
        });
    }

    public static Func<string, Props> PropsFor(IActorRef probe) => id => Props.Create(() => new ReportingEntity(id, probe));

    protected override void PreStart() => _probe.Tell($"started:{_id}", Self);

    protected override void PostStop() => _probe.Tell($"stopped:{_id}", Self);
}
