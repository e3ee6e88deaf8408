using BgFetchCluster.Actors.Cluster.PubSub;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Records: starting them, journaling what they report, limits, settlement and progress.</summary>
public sealed partial class RegistrationActor
{
    private void StartRecords()
    {
        for (var i = 0; i < _state.Records.Length; i++)
        {
            var record = _state.Records[i];
            if (record.State.IsSettled() || _recordActors.ContainsKey(i))
            {
                continue;
            }

            var response = record.Response;
            var work = new RecordWork(
                StoreKey,
                i,
                record.Request,
                record.CheckpointBytes,
                response is not null,
                response?.Status ?? 0,
                response?.ETag,
                response?.LastModified,
                response?.TotalLength);
            _recordActors[i] = Context.ActorOf(RecordActor.Props(work, _environment), "record-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private bool IsLive(int index) =>
        _state.Phase == RegistrationPhase.Active && !_settling && (uint)index < (uint)_state.Records.Length
        && !_state.Records[index].State.IsSettled() && !_settlingRecords.Contains(index);

    private void OnResponseStarted(RecordResponseStarted started)
    {
        if (!IsLive(started.Index))
        {
            return;
        }

        // Record events go out without stashing commands (Akka's PersistAsync): the records of a
        // registration report at once and their events share the journal's round trips.
        IEvent[] events = started.Restarted
            ? [new RecordRestarted(started.Index), started.Response]
            : [started.Response];
        PersistAllAsync(events, e =>
        {
            _state.Apply(e);
            if (e is RecordResponseReceived)
            {
                _state.Records[started.Index].Uploaded = started.Uploaded;
                PublishThrottled();
            }
        });
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

        PersistAllAsync([new RecordCheckpointed(checkpoint.Index, checkpoint.StoredBytes, checkpoint.Uploaded)], e =>
        {
            if (_state.Records[e.Index].State.IsSettled())
            {
                return;
            }

            _state.Apply(e);
            if (!EnforceLimits())
            {
                PublishThrottled();
            }
        });
    }

    private void OnOutcome(RecordOutcome outcome)
    {
        if (!IsLive(outcome.Index))
        {
            return;
        }

        _recordActors.Remove(outcome.Index);
        _state.Records[outcome.Index].StoredBytes = outcome.Size;
        if (EnforceLimits())
        {
            return;
        }

        _settlingRecords.Add(outcome.Index);
        PersistAllAsync([new RecordSettled(outcome.Index, outcome.State, outcome.Size, outcome.Sha256, outcome.Error)], e =>
        {
            _settlingRecords.Remove(e.Index);
            _state.Apply(e);
            NotifyWaiters(e.Index);
            if (_state.AllRecordsSettled)
            {
                SettleNaturally();
            }
            else
            {
                PublishThrottled();
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
    /// Settles now: every unsettled record gets <paramref name="unsettledState"/>, their downloads are
    /// cancelled at once (before the events are durable), then the registration settles.
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
        foreach (var child in _recordActors.Values)
        {
            Context.Stop(child);
        }

        _recordActors.Clear();
        var events = new List<IEvent>();
        for (var i = 0; i < _state.Records.Length; i++)
        {
            var record = _state.Records[i];
            if (!record.State.IsSettled() && !_settlingRecords.Contains(i))
            {
                events.Add(new RecordSettled(i, unsettledState, record.StoredBytes, null, null));
            }
        }

        events.Add(new RegistrationSettled(result, reason, _environment.TimeProvider.GetUtcNow()));
        PersistAll(events, e =>
        {
            _state.Apply(e);
            if (e is not RegistrationSettled)
            {
                return;
            }

            _settling = false;
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
        Context.SetReceiveTimeout(IdleAfterSettled);
    }

    private void NotifyWaiters(int index)
    {
        if (_recordWaiters.Remove(index, out var waiters))
        {
            var ready = new RecordReady(_state.ToRecordView(index), _state.Phase != RegistrationPhase.Released);
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
