using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>Recovery: newest snapshot, then the events after it, loaded off the mailbox and applied in one turn.</summary>
/// <remarks>
/// On its first start the actor decides in its first turn with a message: when that message is an
/// <see cref="ICreatesEntity"/> (a sharded entity created under a fresh id), the history is known to be empty
/// and nothing is read; the journal's unique key refuses the first write should that be wrong. Otherwise,
/// and always after a restart, the history is loaded.
/// </remarks>
public abstract partial class PersistentActor
{
    private readonly List<Func<object, bool>> _recoverHandlers = [];
    private bool _recoveryStarted;

    /// <summary>Which snapshot recovery starts from; <see cref="SnapshotSelectionCriteria.None"/> replays everything.</summary>
    protected virtual SnapshotSelectionCriteria RecoverySnapshotCriteria => SnapshotSelectionCriteria.Latest;

    /// <summary>Declares how a replayed event (or a <see cref="SnapshotOffer"/>) changes the state.</summary>
    protected void Recover<T>(Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _recoverHandlers.Add(message =>
        {
            if (message is T typed)
            {
                handler(typed);
                return true;
            }

            return false;
        });
    }

    /// <summary>Runs after the history is replayed and before the first command.</summary>
    protected virtual void OnRecoveryCompleted()
    {
    }

    /// <summary>Loading the history failed; the actor cannot know its state, so by default it stops.</summary>
    protected virtual void OnRecoveryFailure(Exception cause)
    {
        Context.System.LogRecoveryFailure(PersistenceId, cause);
        Context.Stop(Self);
    }

    internal override void InvokePreStart()
    {
        base.InvokePreStart();

        // Messages sent along with the start (a shard hands over the one that started the entity) are
        // queued before this one; the first of them decides whether there is anything to read.
        Self.Tell(new BeginRecovery(this), Self);
    }

    internal override void InvokePostRestart(Exception reason)
    {
        base.InvokePostRestart(reason);
        StartRecovery();
    }

    /// <summary>
    /// The first message of the first start: an <see cref="ICreatesEntity"/> ends recovery at once, with an
    /// empty history; anything else starts loading it. True when <paramref name="message"/> was consumed.
    /// </summary>
    private bool OnFirstMessage(object message)
    {
        if (message is ICreatesEntity)
        {
            CompleteRecovery(new RecoveryLoaded(this, null, [], 0));
            return false;
        }

        StartRecovery();
        return message is BeginRecovery;
    }

    private void StartRecovery()
    {
        _recoveryStarted = true;
        IsRecovering = true;
        _ = LoadAsync(PersistenceId, RecoverySnapshotCriteria, Persistence)
            .PipeTo(Self, Self, failure: e => new RecoveryLoadFailed(this, e));
    }

    /// <summary>Reads and deserializes the history on the thread pool; the mailbox stays free meanwhile.</summary>
    private async Task<object> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, PersistenceExtension persistence)
    {
        var serializer = persistence.Serializer;
        SnapshotOffer? offer = null;
        var from = 1L;
        if (criteria.MaxSequenceNr > 0)
        {
            var snapshot = await persistence.SnapshotStore.LoadAsync(persistenceId, criteria).ConfigureAwait(false);
            if (snapshot is not null)
            {
                offer = new SnapshotOffer(snapshot.Metadata, serializer.Deserialize(snapshot.Manifest, snapshot.Payload.Span));
                from = snapshot.Metadata.SequenceNr + 1;
            }
        }

        var events = new List<(long SequenceNr, object Event)>();
        await foreach (var representation in persistence.Journal.ReplayAsync(persistenceId, from, long.MaxValue, long.MaxValue).ConfigureAwait(false))
        {
            events.Add((representation.SequenceNr, serializer.Deserialize(representation.Manifest, representation.Payload.Span)));
        }

        var highest = await persistence.Journal.ReadHighestSequenceNrAsync(persistenceId).ConfigureAwait(false);
        return new RecoveryLoaded(this, offer, events, highest);
    }

    private void CompleteRecovery(RecoveryLoaded loaded)
    {
        _recoveryStarted = true;
        try
        {
            if (loaded.Snapshot is { } offer)
            {
                ApplyRecovered(offer);
                LastSequenceNr = offer.Metadata.SequenceNr;
                _newestSnapshotSequenceNr = offer.Metadata.SequenceNr;
            }

            foreach (var (sequenceNr, @event) in loaded.Events)
            {
                ApplyRecovered(@event);
                LastSequenceNr = sequenceNr;
            }

            // Deleted events still count: the next write must go above the highest ever stored.
            LastSequenceNr = Math.Max(LastSequenceNr, loaded.HighestSequenceNr);
        }
        catch (Exception exception)
        {
            OnRecoveryFailure(exception);
            return;
        }

        IsRecovering = false;
        OnRecoveryCompleted();
        FlushWrites();
        UnstashCommands();
    }

    private void ApplyRecovered(object message)
    {
        foreach (var handler in _recoverHandlers)
        {
            if (handler(message))
            {
                return;
            }
        }
    }

    private sealed record RecoveryLoaded(
        PersistentActor Owner,
        SnapshotOffer? Snapshot,
        IReadOnlyList<(long SequenceNr, object Event)> Events,
        long HighestSequenceNr);

    private sealed record RecoveryLoadFailed(PersistentActor Owner, Exception Cause);

    /// <summary>Sent to itself on the first start; see <see cref="OnFirstMessage"/>.</summary>
    private sealed record BeginRecovery(PersistentActor Owner);
}
