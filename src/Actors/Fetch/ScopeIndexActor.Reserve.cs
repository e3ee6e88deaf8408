using Akka.Actor;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Reservations: taking an id, forwarding the creation to its registration, confirming once durable.</summary>
public sealed partial class ScopeIndexActor
{
    /// <summary>
    /// One ask per creation (issue 17, cut 1): reserve as <see cref="OnReserve"/> does, then, once the reservation is
    /// durable, forward the creation to the registration with the asker as its sender, so the registration answers the
    /// caller directly after its own write. A registration exists only under a durable reservation: when the index's write
    /// fails (or is refused, as the stale index of a node cut off from its cluster is by the journal's unique key),
    /// nothing was created, and the caller hears <see cref="ReservationLost"/>.
    /// </summary>
    /// <remarks>
    /// Cut 1 forwarded the creation in the turn that took the id, so that both writes could share a transaction. A
    /// registration whose reservation was then lost had to abort itself, and when its node was downed before that abort
    /// was stored, no index held it and nothing ever woke it again: an orphan in the journal (issue 17, a SIGSTOP nemesis
    /// case). Under load the two writes still meet other creations' writes in every batch.
    /// </remarks>
    private void OnReserveAndCreate(ReserveAndCreate create)
    {
        var registered = create.Registration;
        if (_environment.RegistrationRegion is null)
        {
            // Only while a node starts (the regions are started one after the other); nothing was taken.
            Sender.Tell(new Status.Failure(new InvalidOperationException("The registration region is not started on this node yet.")), Self);
            return;
        }

        var registration = RegistrationActor.EntityIdFor(registered.Scope, registered.Id, registered.Incarnation);
        var creation = new CreateRegistration(registration, registered, AwaitReservation: false);
        TryReserve(registered.Id, registered.Incarnation, registered.DownloadTotal, registered.UploadTotal, create.QuotaBytes, create.MaxActive, new PendingCreation(creation, Sender));
    }

    /// <summary>The reservation of a creator that asks for <see cref="ConfirmReservation"/> itself (a node of the previous version).</summary>
    private void OnReserve(ReserveId reserve)
    {
        if (TryReserve(reserve.Id, reserve.Incarnation, reserve.DownloadTotal, reserve.UploadTotal, reserve.QuotaBytes, reserve.MaxActive, creation: null) is { } remaining)
        {
            // Akka hands this turn's writes to the journal as soon as the turn ends, long before the creator's own
            // write (which passes through the registration's shard first) arrives there: the confirmation is
            // normally already due when asked for.
            Sender.Tell(new IdReserved(reserve.Id, reserve.Incarnation, remaining), Self);
        }
    }

    /// <summary>
    /// Takes the id if it is free and the scope's limits allow it, and journals the reservation; a refusal is told to the
    /// sender. Returns what the scope had left, or null when refused. Once the write is durable, the confirmations asked
    /// for meanwhile are answered and <paramref name="creation"/> (if any, and not cancelled meanwhile) is forwarded.
    /// </summary>
    private long? TryReserve(string id, string incarnation, long downloadTotal, long uploadTotal, long quotaBytes, int maxActive, PendingCreation? creation)
    {
        if (_active.ContainsKey(id))
        {
            Sender.Tell(new ReservationRefused("TypeError", 409, $"The scope already has an active registration with id '{id}'."), Self);
            return null;
        }

        if (_active.Count >= maxActive)
        {
            Sender.Tell(new ReservationRefused("TypeError", 429, $"The scope is at its limit of {maxActive} active registrations."), Self);
            return null;
        }

        var remaining = quotaBytes - _usedBytes;
        if (downloadTotal > remaining || uploadTotal > remaining)
        {
            var requested = _usedBytes + Math.Max(downloadTotal, uploadTotal);
            Sender.Tell(
                new ReservationRefused(
                    "QuotaExceededError", 413, $"The request needs more storage than the scope has left ({Math.Max(0, remaining)} bytes).", quotaBytes, requested),
                Self);
            return null;
        }

        // Taken now, in this turn: the next reservation of the id sees it, durable or not.
        var reserved = new ScopeIdReserved(id, incarnation, downloadTotal, _environment.TimeProvider.GetUtcNow());
        Apply(reserved);
        var key = (id, incarnation);
        if (creation is not null)
        {
            // What the scope had left when the id was taken, as a caller of the previous version was told at once.
            creation = creation with { Create = creation.Create with { Registration = creation.Create.Registration with { QuotaRemaining = remaining } } };
        }

        _unconfirmed[key] = new Unconfirmed([], creation);
        PersistWithoutStash(reserved, () =>
        {
            if (!_unconfirmed.Remove(key, out var unconfirmed))
            {
                return;
            }

            foreach (var waiter in unconfirmed.Waiters)
            {
                waiter.Tell(new ReservationConfirmed(id, incarnation, Confirmed: true), Self);
            }

            if (unconfirmed.Creation is { } pending)
            {
                _environment.RegistrationRegion?.Tell(pending.Create, pending.Creator);
            }
        });

        return remaining;
    }

    /// <summary>Answers once the reservation is durable; at once when it is, or when it is not (or no longer) held.</summary>
    private void OnConfirm(ConfirmReservation confirm)
    {
        if (_unconfirmed.TryGetValue((confirm.Id, confirm.Incarnation), out var unconfirmed))
        {
            unconfirmed.Waiters.Add(Sender);
            return;
        }

        var held = (_active.TryGetValue(confirm.Id, out var active) && active.Incarnation == confirm.Incarnation)
            || _settled.ContainsKey((confirm.Id, confirm.Incarnation));
        Sender.Tell(new ReservationConfirmed(confirm.Id, confirm.Incarnation, held), Self);
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The index stops and starts again from the journal: reservations not yet durable may be lost. Their waiters hear
        // so, and so do the callers of creations not forwarded yet (nothing of them was created).
        foreach (var ((id, incarnation), unconfirmed) in _unconfirmed)
        {
            foreach (var waiter in unconfirmed.Waiters)
            {
                waiter.Tell(new ReservationConfirmed(id, incarnation, Confirmed: false), Self);
            }

            unconfirmed.Creation?.Creator.Tell(new ReservationLost(id, incarnation), Self);
        }

        _unconfirmed.Clear();
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The index goes on (a rejected event was not stored): the write is no longer in flight, and a rejected settle may
        // be journaled again when the registration resends it.
        _writesInFlight--;
        if (@event is ScopeIdSettled settled)
        {
            _settling.Remove((settled.Id, settled.Incarnation));
        }

        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <summary>
    /// A cancelled reservation whose creation waits for the write is never forwarded; true when it was such a one (its
    /// caller gave up: it is not answered).
    /// </summary>
    private bool DropPendingCreation(string id, string incarnation)
    {
        if (_unconfirmed.TryGetValue((id, incarnation), out var unconfirmed) && unconfirmed.Creation is not null)
        {
            _unconfirmed[(id, incarnation)] = unconfirmed with { Creation = null };
            return true;
        }

        return false;
    }

    /// <summary>A reservation not yet durable: who asked for its confirmation, and the creation to forward once it is (null for a <see cref="ReserveId"/>).</summary>
    private sealed record Unconfirmed(List<IActorRef> Waiters, PendingCreation? Creation);

    /// <summary>A creation waiting for its reservation's write, and the caller the registration answers.</summary>
    private sealed record PendingCreation(CreateRegistration Create, IActorRef Creator);
}
