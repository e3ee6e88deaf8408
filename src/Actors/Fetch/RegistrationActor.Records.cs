using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Records: journaling what their downloads report, limits, settlement and progress.</summary>
public sealed partial class RegistrationActor
{
    private bool IsLive(int index) =>
        _state.Phase == RegistrationPhase.Active && !_settling && (uint)index < (uint)_state.Records.Length && !_state.Records[index].State.IsSettled();

    private void OnResponseStarted(RecordResponseStarted started)
    {
        if (!IsLive(started.Index))
        {
            return;
        }

        // Not journaled on its own: the response (and a restart) only has to be durable before the record's first
        // checkpoint or its settlement, which carry it along (see TakeUnjournaled). A crash before either restarts
        // the record from byte 0, where the response is fetched again anyway. This saves a round trip per record.
        IEvent[] events = started.Restarted
            ? [new RecordRestarted(started.Index), started.Response]
            : [started.Response];
        if (!_unjournaled.TryGetValue(started.Index, out var pending))
        {
            _unjournaled[started.Index] = pending = [];
        }

        foreach (var e in events)
        {
            _state.Apply(e);
            pending.Add(e);
        }

        _state.Records[started.Index].Uploaded = started.Uploaded;
        PublishThrottled();
    }

    /// <summary>
    /// The record's response events that are applied but not yet journaled, followed by <paramref name="next"/>:
    /// they go out in one atomic write, in this order. Handlers must apply only <paramref name="next"/>.
    /// </summary>
    private List<IEvent> TakeUnjournaled(int index, IEvent next)
    {
        var events = _unjournaled.Remove(index, out var pending) ? pending : [];
        events.Add(next);
        return events;
    }

    private void OnBytes(RecordBytes bytes)
    {
        if (!IsLive(bytes.Index))
        {
            return;
        }

        _state.Records[bytes.Index].StoredBytes = bytes.StoredBytes;
        if (!EnforceLimits())
        {
            PublishThrottled();
        }
    }

    private void OnCheckpoint(RecordCheckpoint checkpoint)
    {
        if (!IsLive(checkpoint.Index))
        {
            return;
        }

        PersistAll(TakeUnjournaled(checkpoint.Index, new RecordCheckpointed(checkpoint.Index, checkpoint.StoredBytes, checkpoint.Uploaded)), e =>
        {
            if (e is not RecordCheckpointed)
            {
                return;
            }

            _state.Apply(e);
            if (!EnforceLimits())
            {
                PublishThrottled();
            }

            if (_handOffWaiting?.Remove(checkpoint.Index) == true)
            {
                TryFinishHandOff();
            }
        });
    }

    /// <summary>
    /// The shard is moving: an active registration asks its records to checkpoint and stop, and stops once those
    /// checkpoints (and any outcomes already reported) are journaled, or after a few seconds at most.
    /// </summary>
    private void OnHandOff()
    {
        // The registration region does not remember its entities: the scope index wakes this one again at its new home.
        if (_state.Phase == RegistrationPhase.Active)
        {
            AskToBeWokenAgain();
        }

        if (_state.Phase != RegistrationPhase.Active || _settling || _downloads.Count == 0)
        {
            Context.Stop(Self);
            return;
        }

        _handOffWaiting = [.. _downloads.Keys];
        foreach (var download in _downloads.Values)
        {
            download.Drain.Request();
        }

        Timers.StartSingleTimer(HandOffTimedOut.Instance, HandOffTimedOut.Instance, TimeSpan.FromSeconds(3));
    }

    private void TryFinishHandOff()
    {
        if (_handOffWaiting is { Count: 0 } && _bufferedOutcomes.Count == 0)
        {
            Context.Stop(Self);
        }
    }

    private void OnOutcome(RecordOutcome outcome)
    {
        if (!IsLive(outcome.Index))
        {
            return;
        }

        // The download reported its last word; its task is ending by itself, so nothing is cancelled.
        if (_downloads.Remove(outcome.Index, out var finished))
        {
            finished.Dispose();
        }

        _handOffWaiting?.Remove(outcome.Index);
        _state.Records[outcome.Index].StoredBytes = outcome.Size;
        if (EnforceLimits())
        {
            return;
        }

        // Group commit: outcomes that arrive while a write is in flight are stashed by the persistence layer and
        // come back together ahead of the FlushOutcomes sent here, so they go out as one write instead of one
        // round trip each (a registration of 1,000 small files used to settle its records one commit at a time).
        _bufferedOutcomes[outcome.Index] = new RecordSettled(outcome.Index, outcome.State, outcome.Size, outcome.Sha256, outcome.Error, outcome.Body);
        if (_bufferedOutcomes.Count == 1)
        {
            Self.Tell(FlushOutcomes.Instance, Self);
        }
    }

    private void OnFlushOutcomes()
    {
        if (_bufferedOutcomes.Count == 0 || _state.Phase != RegistrationPhase.Active || _settling)
        {
            // Settle took them along.
            return;
        }

        if (_state.AllSettledBesides(_bufferedOutcomes))
        {
            // The last records: their settlements and the registration's go out as one write. Their waiters hear
            // of it with the others', once the settlement is visible.
            var (result, reason) = _state.Outcome(_bufferedOutcomes);
            Settle(result, reason, RecordState.Aborted, null, null);
            return;
        }

        var events = new List<IEvent>();
        foreach (var settled in _bufferedOutcomes.Values.OrderBy(static o => o.Index))
        {
            events.AddRange(TakeUnjournaled(settled.Index, settled));
        }

        _bufferedOutcomes.Clear();
        PersistAll(events, e =>
        {
            if (e is not RecordSettled recordSettled)
            {
                return;
            }

            _state.Apply(e);
            NotifyWaiters(recordSettled.Index);
            PublishThrottled();
            if (_handOffWaiting is not null && e == events[^1])
            {
                TryFinishHandOff();
            }
        });
    }

    /// <summary>
    /// Stored bytes strictly greater than <c>downloadTotal</c> (0 = no limit) fail the registration at
    /// once; so do bytes beyond what the scope's quota had left at creation. Returns whether it failed.
    /// </summary>
    private bool EnforceLimits()
    {
        var definition = _state.Definition!;
        var downloaded = _state.Downloaded;
        if (definition.DownloadTotal > 0 && downloaded > definition.DownloadTotal)
        {
            Settle(BackgroundFetchResult.Failure, BackgroundFetchFailureReason.DownloadTotalExceeded, RecordState.DownloadTotalExceeded, null, null);
            return true;
        }

        if (downloaded > definition.QuotaRemaining)
        {
            Settle(BackgroundFetchResult.Failure, BackgroundFetchFailureReason.QuotaExceeded, RecordState.QuotaExceeded, null, null);
            return true;
        }

        return false;
    }

    private void SettleNaturally()
    {
        var (result, reason) = _state.Outcome();
        Settle(result, reason, RecordState.Aborted, null, null);
    }

    /// <summary>
    /// Settles now: every unsettled record gets <paramref name="unsettledState"/> (except those whose outcome
    /// waits for the next group commit: they keep it), their downloads are cancelled at once (before the
    /// events are durable), then the registration settles.
    /// </summary>
    private void Settle(
        BackgroundFetchResult result,
        BackgroundFetchFailureReason reason,
        RecordState unsettledState,
        IActorRef? replyTo,
        object? reply)
    {
        if (_settling)
        {
            return;
        }

        _settling = true;
        CancelDownloads();
        // Places an earlier incarnation left parked in the scheduler's queues would wake this one for nothing.
        _environment.Scheduler.Unpark(StoreKey);
        var events = new List<IEvent>();
        for (var i = 0; i < _state.Records.Length; i++)
        {
            var record = _state.Records[i];
            if (record.State.IsSettled())
            {
                continue;
            }

            // A record whose outcome is waiting for the next group commit keeps that outcome.
            var settled = _bufferedOutcomes.Remove(i, out var outcome)
                ? outcome
                : new RecordSettled(i, unsettledState, record.StoredBytes, null, null);
            events.AddRange(TakeUnjournaled(i, settled));
        }

        _bufferedOutcomes.Clear();

        events.Add(new RegistrationSettled(result, reason, _environment.TimeProvider.GetUtcNow()));
        PersistAll(events, e =>
        {
            if (e is RecordResponseReceived or RecordRestarted)
            {
                // Applied when the response arrived.
                return;
            }

            _state.Apply(e);
            if (e is not RegistrationSettled)
            {
                return;
            }

            _settling = false;
            FetchMetrics.Settled(_state);
            Timers.Cancel(PublishTick.Instance);
            _pendingSettleReply = (replyTo, reply);
            AnnounceSettlement();
        });
    }

    /// <summary>
    /// Asks the scope index to free the id, resending until it acknowledges. Until then the settlement
    /// stays invisible (views show the registration active), so nobody who has seen it settled can
    /// find the id still taken.
    /// </summary>
    private void AnnounceSettlement()
    {
        var definition = _state.Definition!;
        _environment.ScopeIndexRegion.Tell(
            new MarkIdSettled(ScopeIndexActor.EntityIdFor(definition.Scope), definition.Id, definition.Incarnation, _state.Downloaded),
            Self);
        Timers.StartSingleTimer(AnnounceAgain.Instance, AnnounceAgain.Instance, TimeSpan.FromSeconds(1));
    }

    private void OnSettlementAcknowledged()
    {
        if (_state.Phase != RegistrationPhase.Settled || _settlementVisible)
        {
            return;
        }

        _settlementVisible = true;
        Timers.Cancel(AnnounceAgain.Instance);
        for (var i = 0; i < _state.Records.Length; i++)
        {
            NotifyWaiters(i);
        }

        Publish();
        var definition = _state.Definition!;
        if (definition.NotifyUrl is not null)
        {
            _environment.Notifier?.Tell(new NotifySettled(definition.NotifyUrl, _entityId, _state.ToView()), Self);
        }

        if (_pendingSettleReply is ({ } replyTo, { } reply))
        {
            replyTo.Tell(reply, Self);
        }

        _pendingSettleReply = null;
        Stash.UnstashAll();
        Context.SetReceiveTimeout(_environment.SettledIdle);
    }

    private void NotifyWaiters(int index)
    {
        if (_recordWaiters.Remove(index, out var waiters))
        {
            var ready = new RecordReady(_state.ToRecordView(index), _state.Phase != RegistrationPhase.Released, _state.Records[index].InlineBody);
            foreach (var waiter in waiters)
            {
                waiter.Tell(ready, Self);
            }
        }
    }

    /// <summary>Publishes now if the last publication is old enough, else once the interval has passed (at most ~10/s).</summary>
    private void PublishThrottled()
    {
        var elapsed = _environment.TimeProvider.GetElapsedTime(_lastPublished);
        if (elapsed >= PublishInterval)
        {
            Publish();
        }
        else if (!Timers.IsTimerActive(PublishTick.Instance))
        {
            Timers.StartSingleTimer(PublishTick.Instance, PublishTick.Instance, PublishInterval - elapsed);
        }
    }

    private void Publish()
    {
        if (_state.Phase == RegistrationPhase.Empty || (_state.Phase != RegistrationPhase.Active && _state.SettledAt is null))
        {
            return;
        }

        _lastPublished = _environment.TimeProvider.GetTimestamp();
        var settled = _state.Phase != RegistrationPhase.Active;
        _environment.Mediator.Tell(new Publish(TopicFor(_entityId), new RegistrationProgress(_state.ToView(), settled)), Self);
    }
}
