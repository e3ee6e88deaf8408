using System.Text.Json.Serialization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Bench;

/// <summary>The event every benchmark entity persists.</summary>
[SerializedName("bench.written.v1")]
public sealed record Written(int Number);

[JsonSerializable(typeof(Written))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>A persistent actor that persists one event per command and replies once it is durable.</summary>
internal sealed class BenchEntity : PersistentActor
{
    private readonly string _persistenceId;

    public BenchEntity(string persistenceId)
    {
        _persistenceId = persistenceId;
        Recover<Written>(_ => { });
        Command<Write>(write => Persist(new Written(write.Number), written => Sender.Tell(new Ack(written.Number), Self)));
        Command<Ready>(_ => Sender.Tell(Ready.Instance, Self));
    }

    public override string PersistenceId => _persistenceId;

    public sealed record Write(int Number);

    public sealed record Ack(int Number);

    /// <summary>Answered once recovery is over (commands are stashed until then).</summary>
    public sealed class Ready
    {
        public static Ready Instance { get; } = new();
    }
}

/// <summary>Drives one entity: command, wait for the durable reply, next command, N times.</summary>
internal sealed class BenchDriver : ActorBase
{
    public BenchDriver(IActorRef entity, int events, TaskCompletionSource done)
    {
        Receive<Start>(_ => entity.Tell(new BenchEntity.Write(1), Self));
        Receive<BenchEntity.Ack>(ack =>
        {
            if (ack.Number == events)
            {
                done.TrySetResult();
            }
            else
            {
                entity.Tell(new BenchEntity.Write(ack.Number + 1), Self);
            }
        });
    }

    public sealed class Start
    {
        public static Start Instance { get; } = new();
    }
}
