using Akka.Actor;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Creation. The scope index forwards <see cref="CreateRegistration"/> once the reservation is durable, with the
/// creator as sender: the creator is answered after the <see cref="FetchRegistered"/> write. An index of the version
/// before that (issue 17's cut 1, until the zombie fix) forwarded the creation at once with
/// <see cref="CreateRegistration.AwaitReservation"/> and told the reservation's fate after its write with a
/// <see cref="ReservationNotice"/>, which may arrive before or after the create; such a creator is answered only once
/// both are durable, and a lost reservation aborts the registration. That path stays for a rolling update.
/// </summary>
public sealed partial class RegistrationActor
{
    /// <summary>What the scope index said of this incarnation's reservation; null until it has spoken (and after a restart).</summary>
    private bool? _reservationDurable;

    /// <summary>Creators waiting for the index's notice, once the definition is journaled; null when none.</summary>
    private List<IActorRef>? _createWaiters;

    private void OnCreate(CreateRegistration create)
    {
        if (_state.Phase != RegistrationPhase.Empty)
        {
            // A retried create of this same incarnation: answer as the first one was (or will be) answered.
            if (create.AwaitReservation)
            {
                AnswerCreate(Sender);
            }
            else
            {
                ReplyView();
            }

            return;
        }

        var replyTo = Sender;
        Persist(create.Registration, registered =>
        {
            _state.Apply(registered);
            if (!create.AwaitReservation)
            {
                replyTo.Tell(_state.ToView(), Self);
            }
            else if (_reservationDurable == false)
            {
                // The index lost the reservation before this write was done: nothing is started, the abort settles it.
                AnswerCreate(replyTo);
                return;
            }

            StartRecords();
            Publish();
            if (create.AwaitReservation)
            {
                AnswerCreate(replyTo);
            }
        });
    }

    /// <summary>
    /// The index's word on the reservation. Before the create it is remembered (the create, forwarded first, can still
    /// arrive later through another path of the region); after a restart nobody waits any more, but a lost reservation
    /// still aborts the registration, so an id the index does not hold never names an active registration.
    /// </summary>
    private void OnReservationNotice(ReservationNotice notice)
    {
        _reservationDurable = notice.Durable;
        if (_state.Phase == RegistrationPhase.Empty)
        {
            return;
        }

        if (!notice.Durable)
        {
            AbortForLostReservation();
        }

        if (_createWaiters is { } waiters)
        {
            _createWaiters = null;
            foreach (var waiter in waiters)
            {
                AnswerCreate(waiter);
            }
        }
    }

    /// <summary>Answers a creator once the definition is journaled: the view, the loss of the reservation, or later.</summary>
    private void AnswerCreate(IActorRef replyTo)
    {
        if (_state.Phase is RegistrationPhase.Empty or RegistrationPhase.Released)
        {
            replyTo.Tell(new RegistrationNotFound(_entityId), Self);
            return;
        }

        switch (_reservationDurable)
        {
            case true:
                replyTo.Tell(_state.ToView(hideSettlement: !_settlementVisible), Self);
                break;
            case false:
                AbortForLostReservation();
                var definition = _state.Definition!;
                replyTo.Tell(new ReservationLost(definition.Id, definition.Incarnation), Self);
                break;
            default:
                (_createWaiters ??= []).Add(replyTo);
                break;
        }
    }

    /// <summary>As the creator used to on an unconfirmed reservation: the registration must not run without its id.</summary>
    private void AbortForLostReservation()
    {
        if (_state.Phase == RegistrationPhase.Active && !_settling)
        {
            Settle(BackgroundFetchResult.Failure, BackgroundFetchFailureReason.Aborted, RecordState.Aborted, null, null);
        }
    }
}
