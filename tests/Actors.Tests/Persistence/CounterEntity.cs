using System.Text.Json.Serialization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Tests.Persistence;

[SerializedName("test.counter.added.v1")]
public sealed record Added(int Amount);

[SerializedName("test.counter.snapshot.v1")]
public sealed record CounterSnapshot(int Total);

/// <summary>An event type nobody registers: persisting it is rejected.</summary>
public sealed record Unregistered(int Amount);

[JsonSerializable(typeof(Added))]
[JsonSerializable(typeof(CounterSnapshot))]
internal sealed partial class CounterJsonContext : JsonSerializerContext;

/// <summary>An event-sourced counter that reports what it replayed, for the persistence contract tests.</summary>
internal sealed class CounterEntity : PersistentActor
{
    private readonly string _persistenceId;
    private readonly List<string> _recoveryLog = [];
    private int _total;

    public CounterEntity(string persistenceId, IActorRef? observer = null)
    {
        _persistenceId = persistenceId;
        Recover<SnapshotOffer>(offer =>
        {
            _total = ((CounterSnapshot)offer.Snapshot).Total;
            _recoveryLog.Add($"snapshot@{offer.Metadata.SequenceNr}");
        });
        Recover<Added>(added =>
        {
            _total += added.Amount;
            _recoveryLog.Add($"added:{added.Amount}");
        });
        Command<Add>(add => Persist(new Added(add.Amount), added =>
        {
            _total += added.Amount;
            Sender.Tell(new Persisted(LastSequenceNr, _total), Self);
        }));
        Command<AddMany>(add => PersistAll(add.Amounts.Select(a => new Added(a)), added =>
        {
            _total += added.Amount;
            Sender.Tell(new Persisted(LastSequenceNr, _total), Self);
        }));
        Command<AddAsync>(add => PersistAllAsync([new Added(add.Amount)], added =>
        {
            _total += added.Amount;
            Sender.Tell(new Persisted(LastSequenceNr, _total), Self);
        }));
        Command<Create>(create => Persist(new Added(create.Amount), added =>
        {
            _total += added.Amount;
            Sender.Tell(new Persisted(LastSequenceNr, _total), Self);
        }));
        Command<AddUnregistered>(add => Persist(new Unregistered(add.Amount), _ => Sender.Tell("handler ran for a rejected event", Self)));
        Command<GetState>(_ => Sender.Tell(new State(_total, LastSequenceNr, [.. _recoveryLog]), Self));
        Command<TakeSnapshot>(_ => SaveSnapshot(new CounterSnapshot(_total)));
        Command<SaveSnapshotSuccess>(success => observer?.Tell(success, Self));
        Command<DeleteUpTo>(delete => DeleteMessages(delete.SequenceNr));
        Command<DeleteMessagesSuccess>(success => observer?.Tell(success, Self));
        Command<Crash>(_ => throw new InvalidOperationException("crash requested"));
        Observer = observer;
    }

    public override string PersistenceId => _persistenceId;

    private IActorRef? Observer { get; }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        Observer?.Tell(new Rejected(sequenceNr), Self);
    }

    public sealed record Add(int Amount);

    public sealed record AddMany(int[] Amounts);

    /// <summary>Persisted without stashing commands (Akka's PersistAsync): many writes in flight at once.</summary>
    public sealed record AddAsync(int Amount);

    public sealed record AddUnregistered(int Amount);

    /// <summary>Adds, and says the entity is new: as the first message it skips reading the history.</summary>
    public sealed record Create(string EntityId, int Amount) : ICreatesEntity;

    public sealed record GetState;

    public sealed record TakeSnapshot;

    public sealed record DeleteUpTo(long SequenceNr);

    public sealed record Crash;

    public sealed record Persisted(long SequenceNr, int Total);

    public sealed record Rejected(long SequenceNr);

    public sealed record State(int Total, long LastSequenceNr, string[] RecoveryLog);
}
