using Akka.Actor;
using Akka.Persistence;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// A small persistent actor for the plugin round trips. Commands are strings: <c>get</c> answers the
/// recovered and persisted history, <c>bad</c> persists an <see cref="Unserializable"/> event,
/// <c>bytes</c> persists a byte array (Akka's ByteArraySerializer), <c>snap</c> saves a snapshot of the
/// history; anything else is persisted as a string event and acknowledged with <c>ok:&lt;event&gt;</c>.
/// </summary>
public sealed class JournaledCounter : ReceivePersistentActor
{
    private readonly List<string> _history = [];
    private IActorRef _requester = ActorRefs.Nobody;

    public JournaledCounter(string persistenceId, string? snapshotPluginId)
    {
        PersistenceId = persistenceId;

        // Null keeps Akka's default: the snapshot store the system is configured with.
        if (snapshotPluginId is not null)
        {
            SnapshotPluginId = snapshotPluginId;
        }

        Recover<SnapshotOffer>(offer => _history.Add($"snapshot({offer.Snapshot})"));
        Recover<string>(_history.Add);
        Recover<byte[]>(bytes => _history.Add("bytes:" + Convert.ToHexString(bytes)));

        Command<string>(command => command == "get", _ => Sender.Tell(string.Join(",", _history)));
        Command<string>(command => command == "bad", _ =>
        {
            _requester = Sender;
            Persist(new Unserializable("test"), _ => Sender.Tell("persisted an unserializable event?"));
        });
        Command<string>(command => command == "bytes", _ => Persist(new byte[] { 1, 2, 3 }, bytes =>
        {
            _history.Add("bytes:" + Convert.ToHexString(bytes));
            Sender.Tell("ok:bytes");
        }));
        Command<string>(command => command == "snap", _ =>
        {
            _requester = Sender;
            SaveSnapshot(string.Join("+", _history));
        });
        Command<SaveSnapshotSuccess>(success => _requester.Tell($"snapshot-saved:{success.Metadata.SequenceNr}"));
        Command<SaveSnapshotFailure>(failure => _requester.Tell($"snapshot-failed:{failure.Cause.Message}"));
        Command<string>(command => Persist(command, persisted =>
        {
            _history.Add(persisted);
            Sender.Tell("ok:" + persisted);
        }));
    }

    public override string PersistenceId { get; }

    public static Props Props(string persistenceId, string? snapshotPluginId = null) =>
        Akka.Actor.Props.Create(() => new JournaledCounter(persistenceId, snapshotPluginId));

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        _requester.Tell($"rejected:{sequenceNr}");
    }
}
