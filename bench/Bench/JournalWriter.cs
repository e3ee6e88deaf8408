using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;

namespace BgFetchCluster.Bench;

/// <summary>
/// Writes to a journal actor directly, without a persistent actor: one event per
/// <c>WriteMessages</c>, the next as soon as the previous is acknowledged, as a persistent actor
/// that persists one event per command would. Many of them at once measure the journal alone.
/// </summary>
internal sealed class JournalWriter : ReceiveActor
{
    private readonly IActorRef _journal;
    private readonly string _persistenceId;
    private readonly int _events;
    private readonly TaskCompletionSource _done;
    private readonly string _writerGuid = Guid.NewGuid().ToString("D");
    private long _sequenceNr;

    public JournalWriter(IActorRef journal, string persistenceId, int events, TaskCompletionSource done)
    {
        _journal = journal;
        _persistenceId = persistenceId;
        _events = events;
        _done = done;
        Receive<WriteMessagesSuccessful>(static _ => { });
        Receive<WriteMessageSuccess>(_ =>
        {
            if (_sequenceNr == _events)
            {
                _done.TrySetResult();
                Context.Stop(Self);
            }
            else
            {
                Write();
            }
        });
        Receive<WriteMessagesFailed>(failed => Fail(failed.Cause));
        Receive<WriteMessageFailure>(failure => Fail(failure.Cause));
        Receive<WriteMessageRejected>(rejected => Fail(rejected.Cause));
    }

    public static Props Props(IActorRef journal, string persistenceId, int events, TaskCompletionSource done) =>
        Akka.Actor.Props.Create(() => new JournalWriter(journal, persistenceId, events, done));

    protected override void PreStart() => Write();

    private void Write()
    {
        _sequenceNr++;
        var @event = new Persistent($"{_persistenceId}:{_sequenceNr}", _sequenceNr, _persistenceId, string.Empty, false, Self, _writerGuid);
        _journal.Tell(new WriteMessages(ImmutableArray.Create<IPersistentEnvelope>(new AtomicWrite(@event)), Self, 1));
    }

    private void Fail(Exception cause)
    {
        _done.TrySetException(cause);
        Context.Stop(Self);
    }
}
