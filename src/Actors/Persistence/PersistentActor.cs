using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// An event-sourced actor (Akka's <c>ReceivePersistentActor</c>). Its state is rebuilt on every start
/// from the newest snapshot and the events after it; commands change it only through
/// <see cref="Persist{TEvent}"/>, whose handler runs once the event is durable.
/// </summary>
/// <remarks>
/// <code>
///   start ──▶ Recovering (commands stashed) ──replayed──▶ Running ──Persist──▶ Persisting (commands stashed)
///                                                          ▲                        │ write durable: handlers run
///                                                          └────────────────────────┘
/// </code>
/// A write refused by the journal's unique key (another incarnation wrote that sequence number)
/// stops the actor: two live copies fail instead of forking the history.
/// </remarks>
public abstract partial class PersistentActor : ActorBase
{
    private readonly string _writerUuid = Guid.NewGuid().ToString("D");
    private readonly List<PendingWrite> _pendingWrites = [];
    private List<AtomicWrite>? _unflushed;
    private Queue<Envelope>? _commandStash;
    private PersistenceExtension? _persistence;

    /// <summary>The stable id under which the actor's events are journaled.</summary>
    public abstract string PersistenceId { get; }

    /// <summary>The sequence number of the last event persisted or replayed.</summary>
    public long LastSequenceNr { get; private set; }

    /// <summary>The two newest snapshots known to be stored (0: none), for <see cref="KeepTwoNewestSnapshots"/>.</summary>
    private long _newestSnapshotSequenceNr;
    private long _secondNewestSnapshotSequenceNr;

    /// <summary>True while the actor replays its history; commands wait in a stash meanwhile.</summary>
    public bool IsRecovering { get; private set; } = true;

    /// <summary>The system's persistence: journal, snapshots, serializer.</summary>
    protected PersistenceExtension Persistence => _persistence ??= PersistenceExtension.For(Context.System);

    /// <summary>Declares a command handler (same as <c>Receive</c>; reads better next to <c>Recover</c>).</summary>
    protected void Command<T>(Action<T> handler, Predicate<T>? shouldHandle = null) => Receive(handler, shouldHandle);

    /// <summary>
    /// Stores <paramref name="event"/> and then runs <paramref name="handler"/> with it. Until the write is
    /// durable, incoming commands are stashed, so the next command sees the handler's state change.
    /// </summary>
    protected void Persist<TEvent>(TEvent @event, Action<TEvent> handler)
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(handler);
        PersistAll([@event], handler);
    }

    /// <summary>Stores the events atomically (all or none) and then runs the handler for each, in order.</summary>
    protected void PersistAll<TEvent>(IEnumerable<TEvent> events, Action<TEvent> handler)
        where TEvent : notnull => PersistAll(events, handler, stashCommands: true);

    /// <summary>
    /// Like <see cref="PersistAll{TEvent}(IEnumerable{TEvent}, Action{TEvent})"/>, but commands keep being
    /// handled while the write is in flight (Akka's <c>PersistAllAsync</c>). For actors that do their own
    /// group commit: they must account for not-yet-durable events themselves. Handlers still run in order.
    /// </summary>
    protected void PersistAllAsync<TEvent>(IEnumerable<TEvent> events, Action<TEvent> handler)
        where TEvent : notnull => PersistAll(events, handler, stashCommands: false);

    private void PersistAll<TEvent>(IEnumerable<TEvent> events, Action<TEvent> handler, bool stashCommands)
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(handler);
        if (IsRecovering)
        {
            throw new InvalidOperationException($"{PersistenceId}: Persist is not allowed while recovering.");
        }

        var list = events.ToList();
        if (list.Count == 0)
        {
            return;
        }

        var representations = new PersistentRepresentation[list.Count];
        var now = Context.System.TimeProvider.GetUtcNow();
        for (var i = 0; i < list.Count; i++)
        {
            try
            {
                var (manifest, payload) = Persistence.Serializer.Serialize(list[i]);
                representations[i] = new PersistentRepresentation(PersistenceId, LastSequenceNr + 1 + i, PersistentRepresentation.NoSerializerId, manifest, payload, _writerUuid, now);
            }
            catch (JournalRejectionException rejection)
            {
                // Nothing of this call is written and no sequence number is used; the actor carries on.
                OnPersistRejected(rejection, list[i], LastSequenceNr + 1 + i);
                return;
            }
        }

        LastSequenceNr += list.Count;
        var write = new AtomicWrite(representations);
        (_unflushed ??= []).Add(write);
        _pendingWrites.Add(new PendingWrite(write, [.. list.Cast<object>()], e => handler((TEvent)e), Cell.SenderOrNull, stashCommands));
    }

    /// <summary>
    /// Hands the writes persisted so far in this turn to the journal now instead of at the end of the turn.
    /// The journal keeps call order across actors, so a write that anyone makes after hearing from this actor
    /// later in the turn is stored in the same transaction or a later one: never durable before these.
    /// </summary>
    protected void HandPersistedToJournal() => FlushWrites();

    /// <summary>Stores a snapshot of the state at <see cref="LastSequenceNr"/>; the outcome arrives as a message.</summary>
    protected void SaveSnapshot(object snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var metadata = new SnapshotMetadata(PersistenceId, LastSequenceNr, Context.System.TimeProvider.GetUtcNow());
        Task save;
        try
        {
            var (manifest, payload) = Persistence.Serializer.Serialize(snapshot);
            save = Persistence.SnapshotStore.SaveAsync(metadata, PersistentRepresentation.NoSerializerId, manifest, payload);
        }
        catch (Exception exception)
        {
            save = Task.FromException(exception);
        }

        _ = save.PipeTo(Self, Self, () => new SaveSnapshotSuccess(metadata), e => new SaveSnapshotFailure(metadata, e));
    }

    /// <summary>Deletes journaled events up to <paramref name="toSequenceNr"/>; the outcome arrives as a message.</summary>
    protected void DeleteMessages(long toSequenceNr) =>
        _ = Persistence.Journal.DeleteMessagesToAsync(PersistenceId, toSequenceNr)
            .PipeTo(Self, Self, () => new DeleteMessagesSuccess(toSequenceNr), e => new DeleteMessagesFailure(toSequenceNr, e));

    /// <summary>
    /// Call with every <see cref="SaveSnapshotSuccess"/> to keep only the two newest snapshots (Akka's
    /// <c>keepNSnapshots = 2</c>): older ones hold superseded state and only take space, since recovery loads the
    /// newest. Two saves may be in flight at once and succeed in either order, so what is kept is decided by
    /// sequence number, never by arrival; a delete that fails or loses a race is covered by the next one.
    /// </summary>
    protected void KeepTwoNewestSnapshots(SaveSnapshotSuccess saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        var sequenceNr = saved.Metadata.SequenceNr;
        if (sequenceNr > _newestSnapshotSequenceNr)
        {
            (_newestSnapshotSequenceNr, _secondNewestSnapshotSequenceNr) = (sequenceNr, _newestSnapshotSequenceNr);
        }
        else if (sequenceNr > _secondNewestSnapshotSequenceNr && sequenceNr != _newestSnapshotSequenceNr)
        {
            _secondNewestSnapshotSequenceNr = sequenceNr;
        }

        if (_secondNewestSnapshotSequenceNr > 0)
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(MaxSequenceNr: _secondNewestSnapshotSequenceNr - 1));
        }
    }

    /// <summary>Deletes snapshots matching <paramref name="criteria"/>; the outcome arrives as a message.</summary>
    protected void DeleteSnapshots(SnapshotSelectionCriteria criteria) =>
        _ = Persistence.SnapshotStore.DeleteAsync(PersistenceId, criteria)
            .PipeTo(Self, Self, () => new DeleteSnapshotsSuccess(criteria), e => new DeleteSnapshotsFailure(criteria, e));

    /// <summary>
    /// A write failed (a concurrent writer won the sequence number, or storage failed). The state may
    /// or may not be stored, so the actor cannot go on: by default it stops, as in Akka.
    /// </summary>
    protected virtual void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Context.System.LogPersistFailure(PersistenceId, sequenceNr, cause);
        Context.Stop(Self);
    }

    /// <summary>An event was refused before it was written (it cannot be serialized); by default the actor carries on.</summary>
    protected virtual void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
        Context.System.LogPersistRejected(PersistenceId, sequenceNr, cause);

    /// <inheritdoc />
    protected override bool AroundReceive(object message)
    {
        switch (message)
        {
            case RecoveryLoaded loaded when ReferenceEquals(loaded.Owner, this):
                CompleteRecovery(loaded);
                return true;
            case RecoveryLoadFailed failed when ReferenceEquals(failed.Owner, this):
                OnRecoveryFailure(failed.Cause);
                return true;
            case WriteCompleted completed when ReferenceEquals(completed.Owner, this):
                OnWriteCompleted(completed);
                FlushWrites();
                return true;
            case BeginRecovery when _recoveryStarted:
                return true;
        }

        if (!_recoveryStarted && OnFirstMessage(message))
        {
            return true;
        }

        if (IsRecovering || _pendingWrites.Exists(static p => p.StashCommands))
        {
            // The next command must see the state after replay / after the pending events' handlers.
            (_commandStash ??= new Queue<Envelope>()).Enqueue(new Envelope(message, Sender));
            return true;
        }

        var handled = base.AroundReceive(message);
        FlushWrites();
        return handled;
    }

    private void FlushWrites()
    {
        if (_unflushed is not { Count: > 0 } writes)
        {
            return;
        }

        _unflushed = null;
        foreach (var write in writes)
        {
            // The batching journal keeps call order, so this actor's writes land in sequence order.
            _ = Persistence.Journal.WriteAsync(write).PipeTo(
                Self,
                Self,
                () => new WriteCompleted(this, write, null),
                e => new WriteCompleted(this, write, e));
        }
    }

    private void OnWriteCompleted(WriteCompleted completed)
    {
        var index = _pendingWrites.FindIndex(p => ReferenceEquals(p.Write, completed.Write));
        if (index < 0)
        {
            return;
        }

        // The journal completes writes in call order, but the completions travel as separate
        // messages and may overtake each other: handlers run strictly in persist order.
        _pendingWrites[index].Outcome = completed;
        while (_pendingWrites.Count > 0 && _pendingWrites[0].Outcome is { } outcome)
        {
            var pending = _pendingWrites[0];
            _pendingWrites.RemoveAt(0);
            if (outcome.Failure is { } failure)
            {
                _pendingWrites.Clear();
                _unflushed = null;
                if (failure is JournalRejectionException)
                {
                    OnPersistRejected(failure, pending.Events[0], outcome.Write.LowestSequenceNr);
                    LastSequenceNr = outcome.Write.LowestSequenceNr - 1;
                    UnstashCommands();
                    return;
                }

                OnPersistFailure(failure, pending.Events[0], outcome.Write.LowestSequenceNr);
                return;
            }

            // Handlers see the sender of the command that persisted the events, as in Akka.
            Cell.SenderOrNull = pending.Sender;
            foreach (var @event in pending.Events)
            {
                pending.Handler(@event);
            }
        }

        if (!_pendingWrites.Exists(static p => p.StashCommands))
        {
            UnstashCommands();
        }
    }

    private void UnstashCommands()
    {
        if (_commandStash is { Count: > 0 } stash)
        {
            _commandStash = null;
            Cell.Prepend(stash);
        }
    }

    private sealed record PendingWrite(AtomicWrite Write, IReadOnlyList<object> Events, Action<object> Handler, IActorRef? Sender, bool StashCommands)
    {
        /// <summary>Set when the journal has answered; the handlers run once every earlier write has too.</summary>
        public WriteCompleted? Outcome { get; set; }
    }

    private sealed record WriteCompleted(PersistentActor Owner, AtomicWrite Write, Exception? Failure);
}
