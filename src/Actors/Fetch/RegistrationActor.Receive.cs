using Akka.Actor;
using Akka.Persistence;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>The receives: one <c>switch</c> for recovery and one for commands, in the order the handlers apply.</summary>
public sealed partial class RegistrationActor
{
    /// <inheritdoc />
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case IEvent @event:
                _state.Apply(@event);
                break;
            case RecoveryCompleted:
                OnRecoveryCompleted();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <inheritdoc />
    protected override void OnCommand(object message)
    {
        // Resuming after a restart: everything waits until the body writers of a stale copy are fenced (OnRecoveryCompleted).
        switch (message)
        {
            case WritersFenced:
                OnWritersFenced();
                return;
            case WritersFenceFailed failed:
                throw new ResponseStoreException(
                    ResponseStoreFailure.Unavailable, _entityId, -1, $"Could not fence the body writers of '{_entityId}' before resuming it; it recovers again.", failed.Cause);
        }

        if (_dormant && !StaysDormantFor(message) && !LeaveDormancyFor(message))
        {
            return;
        }

        if (_resuming || (_readsWaitForAck && !_settlementVisible && message is GetRegistration or GetRecords or AwaitRecord or UpdateRegistrationUi))
        {
            Stash.Stash();
            return;
        }

        switch (message)
        {
            case CreateRegistration create:
                OnCreate(create);
                break;
            case ReservationNotice notice:
                OnReservationNotice(notice);
                break;
            case GetRegistration:
                ReplyView();
                break;
            case AbortRegistration:
                OnAbort();
                break;
            case ReleaseRegistration:
                OnRelease();
                break;
            case UpdateRegistrationUi update:
                OnUpdateUi(update);
                break;
            case GetRecords:
                OnGetRecords();
                break;
            case AwaitRecord awaitRecord:
                OnAwaitRecord(awaitRecord);
                break;
            case BodiesDeleted deleted:
                OnBodiesDeleted(deleted);
                break;
            case DeleteMessagesSuccess:
                break;
            case DeleteMessagesFailure failure:
                LogHistoryNotDeleted(_environment.Log, PersistenceId, failure.Cause);
                break;
            case RecordResponseStarted started:
                OnResponseStarted(started);
                break;
            case RecordBytes bytes:
                OnBytes(bytes);
                break;
            case RecordCheckpoint checkpoint:
                OnCheckpoint(checkpoint);
                break;
            case RecordOutcome outcome:
                OnOutcome(outcome);
                break;
            case FlushOutcomes:
                OnFlushOutcomes();
                break;
            case PublishTick:
                // Never after settlement: the settling turn published the final state itself.
                if (_state.Phase == RegistrationPhase.Active && !_settling)
                {
                    Publish();
                }

                break;
            case ReceiveTimeout:
                PassivateIfSettled();
                break;
            case StopEntity:
                Context.Stop(Self);
                break;
            case HandOff:
                OnHandOff();
                break;
            case WakeRegistration:
                OnWake();
                break;
            case ParkCheck:
                OnParkCheck();
                break;
            case HandOffTimedOut:
                Context.Stop(Self);
                break;
            case IdSettledAck:
                OnSettlementAcknowledged();
                break;
            case AnnounceAgain:
                if (_state.Phase == RegistrationPhase.Settled && !_settlementVisible)
                {
                    AnnounceSettlement();
                }

                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
