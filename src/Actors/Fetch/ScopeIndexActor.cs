using Akka.Actor;
using Akka.Cluster;
using Akka.Persistence;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// The registrations of one scope: which ids are active (unique among active ones; of concurrent
/// reservations of one id exactly one wins, because the index handles one command at a time and a
/// reservation takes the id in that same turn), which incarnation an id names, how much of the quota
/// is used, and when settled registrations are due for automatic release.
/// </summary>
/// <remarks>
/// <para>
/// A reservation is taken at once, in the turn that takes the id, and journaled without waiting
/// (<c>PersistAsync</c>; the journal gathers the writes of every actor into one transaction per round
/// trip, and Akka sends this actor's writes of one turn as one batch). The registration stores its
/// definition meanwhile, so a creation costs one commit, not two in a row. Until its write is durable the
/// reservation is visible here (the id is taken, getIds lists it) but not confirmed: the registration, to
/// which the index forwarded the creation (<see cref="ReserveAndCreate"/>), answers its creator only once
/// the index has told it that the write is durable (<see cref="ReservationNotice"/>); a creator on a node
/// of the previous version asks <see cref="ConfirmReservation"/>, whose answer waits for the write. The
/// other events (settled, released, cancelled) change the state only once durable, so nobody sees an id
/// freed that a crash could take again.
/// </para>
/// <para>
/// Snapshots are taken only when no write is in flight, so a snapshot never holds a reservation that
/// is not yet durable. A snapshot holds every entry, so the next is due after as many events as the last one
/// held (at least <see cref="SnapshotEvery"/>): writing them costs a constant per event however large the
/// scope grows, and a recovery replays about as many events as its snapshot has entries, at most. Only the
/// last two snapshots are kept.
/// </para>
/// <para>
/// The index is also what keeps its active registrations running (issue 17, cut 2): the registration region does not
/// remember its entities, so the index wakes every active one (<see cref="WakeRegistration"/>, oldest first, at the
/// node's <see cref="FetchEnvironment.WakesPerSecond"/>) when it recovers, when a member has left the cluster, and
/// when one tells it that it is moving (<see cref="WakeAgain"/>), and wakes again, with a growing interval, those
/// that have not answered. The index itself is remembered, so after any crash one of them recovers and wakes.
/// </para>
/// </remarks>
public sealed partial class ScopeIndexActor : ReceivePersistentActor, IWithTimers
{
    private const int SnapshotEvery = 1000;
    // A wake sent as soon as a member is gone can still be routed to the lost node's region (sharding moves its shards
    // only after akka.cluster.down-removal-margin, 2 s) and be lost; 3 s, then 6 s, made some takeovers 7-9 s slower
    // (the nemesis suite's partition case, 20.2 s instead of 13 s). Retrying after 1 s costs a duplicate wake to a
    // registration that is slow to recover, which it answers again.
    private static readonly TimeSpan FirstWakeRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastWakeRetry = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MemberCheckInterval = TimeSpan.FromSeconds(1);

    private readonly string _entityId;
    private readonly FetchEnvironment _environment;

    /// <summary>Active ids in creation order (the dictionary keeps insertion order while nothing is removed before them).</summary>
    private readonly SortedDictionary<long, string> _activeOrder = [];
    private readonly Dictionary<string, Active> _active = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Id, string Incarnation), Settled> _settled = [];
    private readonly Dictionary<string, string> _latestSettled = new(StringComparer.Ordinal);

    /// <summary>Reservations taken but not yet durable, with whoever waits for their confirmation.</summary>
    private readonly Dictionary<(string Id, string Incarnation), Unconfirmed> _unconfirmed = [];

    /// <summary>Settles being journaled: a resend of one (the registration resends until acknowledged) is not journaled again.</summary>
    private readonly HashSet<(string Id, string Incarnation)> _settling = [];
    private int _writesInFlight;
    private long _nextOrder;
    private long _usedBytes;
    private int _eventsSinceSnapshot;
    private int _entriesInLastSnapshot;

    /// <summary>Active registrations woken and not yet heard from (<see cref="RegistrationAwake"/>), by entity id.</summary>
    private readonly Dictionary<string, (string Id, string Incarnation)> _unawake = new(StringComparer.Ordinal);

    /// <summary>Entity ids of <see cref="_unawake"/> due to be sent a wake, in order.</summary>
    private readonly Queue<string> _wakeQueue = new();
    private readonly HashSet<string> _wakeQueued = new(StringComparer.Ordinal);
    private TimeSpan _wakeRetry = FirstWakeRetry;

    /// <summary>The cluster's members at the last look (null outside a cluster): one gone means its registrations moved.</summary>
    private HashSet<UniqueAddress>? _members;

    /// <summary>The two newest snapshots known to be stored (0: none), for <see cref="KeepTwoNewestSnapshots"/>.</summary>
    private long _newestSnapshot;
    private long _secondNewestSnapshot;

    /// <summary>Creates the index entity of one scope.</summary>
    public ScopeIndexActor(string entityId, FetchEnvironment environment)
    {
        _entityId = entityId;
        _environment = environment;
        Recover<SnapshotOffer>(offer =>
        {
            var snapshot = (ScopeIndexSnapshot)offer.Snapshot;
            _entriesInLastSnapshot = snapshot.Active.Count + snapshot.Settled.Count;
            Restore(snapshot);
        });
        Recover<IEvent>(Apply);
        Recover<RecoveryCompleted>(_ => OnRecoveryCompleted());
        Command<ReserveAndCreate>(OnReserveAndCreate);
        Command<ReserveId>(OnReserve);
        Command<ConfirmReservation>(OnConfirm);
        Command<CancelReservation>(OnCancel);
        Command<MarkIdSettled>(OnSettled);
        Command<MarkIdReleased>(OnReleased);
        Command<ResolveId>(resolve => Sender.Tell(new IdResolved(resolve.Id, Resolve(resolve.Id)), Self));
        Command<GetActiveIds>(_ => Sender.Tell(new ActiveIds([.. _activeOrder.Values]), Self));
        Command<SweepExpired>(_ => SweepExpiredRecords());
        Command<RegistrationAwake>(awake => _unawake.Remove(awake.EntityId));
        Command<WakeAgain>(moved => WakeIfActive(moved.Id, moved.Incarnation));
        Command<WakesDue>(_ => SendWakes());
        Command<WakeUnanswered>(_ => WakeUnansweredAgain());
        Command<MembersDue>(_ => CheckMembers());
        Command<SaveSnapshotSuccess>(KeepTwoNewestSnapshots);
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
        Command<RecordsReleasedReply>(_ => { });
        Command<RegistrationNotFound>(_ => { });
    }

    /// <summary>Props for the shard region's entity factory.</summary>
    public static Props Props(string entityId, FetchEnvironment environment) =>
        Akka.Actor.Props.CreateBy(new DirectProducer<ScopeIndexActor>(() => new ScopeIndexActor(entityId, environment)));

    /// <summary>The index entity of a scope.</summary>
    public static string EntityIdFor(string scope) => scope;

    /// <inheritdoc />
    public override string PersistenceId => "scope-index-" + _entityId;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private void OnRecoveryCompleted()
    {
        // Sweep often enough that a registration outlives its retention by at most a quarter of it (and 30 s).
        var interval = TimeSpan.FromTicks(Math.Clamp(_environment.Retention.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(30).Ticks));
        Timers.StartPeriodicTimer(SweepExpired.Instance, SweepExpired.Instance, interval);

        // Whatever stopped this index (a crash, a move, a restart of the cluster) may have stopped its registrations too.
        if (_active.Count > 0)
        {
            LogWakingAll(_environment.Log, _entityId, "recovered", _active.Count);
        }

        WakeAllActive();
        if (Context.System is ExtendedActorSystem { Provider: IClusterActorRefProvider })
        {
            // Read from the cluster's own view rather than subscribed to: a removal is seen a second later at most, by
            // when the local shard region has forgotten where the lost node's shards were, so the wakes go to their new homes.
            _members = CurrentMembers();
            Timers.StartPeriodicTimer(MembersDue.Instance, MembersDue.Instance, MemberCheckInterval);
        }
    }

    private HashSet<UniqueAddress> CurrentMembers() => [.. Cluster.Get(Context.System).State.Members.Select(static m => m.UniqueAddress)];

    private void CheckMembers()
    {
        var now = CurrentMembers();
        var lost = _members is not null && _members.Any(member => !now.Contains(member));
        _members = now;
        if (lost)
        {
            if (_active.Count > 0)
            {
                LogWakingAll(_environment.Log, _entityId, "a member left the cluster", _active.Count);
            }

            WakeAllActive();
        }
    }

    private void WakeAllActive()
    {
        _wakeRetry = FirstWakeRetry;
        foreach (var id in _activeOrder.Values)
        {
            Wake(id, _active[id].Incarnation);
        }

        SendWakes();
    }

    private void WakeIfActive(string id, string incarnation)
    {
        if (_active.TryGetValue(id, out var active) && active.Incarnation == incarnation)
        {
            _wakeRetry = FirstWakeRetry;
            Wake(id, incarnation);
            SendWakes();
        }
    }

    private void Wake(string id, string incarnation)
    {
        var entityId = RegistrationActor.EntityIdFor(_entityId, id, incarnation);
        _unawake[entityId] = (id, incarnation);
        if (_wakeQueued.Add(entityId))
        {
            _wakeQueue.Enqueue(entityId);
        }
    }

    /// <summary>Sends as many queued wakes as the node's budget allows now; the rest go on the next ticks.</summary>
    private void SendWakes()
    {
        // The registration region starts after this one: an index remembered by its shard may recover before it exists.
        var region = _environment.RegistrationRegion;
        while (region is not null && _wakeQueue.Count > 0)
        {
            var wanted = Math.Min(_wakeQueue.Count, Math.Max(1, _environment.WakesPerSecond / 10));
            var available = (int)Math.Min(wanted, _environment.WakeLimiter.GetStatistics()?.CurrentAvailablePermits ?? wanted);
            using var lease = available > 0 ? _environment.WakeLimiter.AttemptAcquire(available) : null;
            if (lease is not { IsAcquired: true })
            {
                break;
            }

            for (var i = 0; i < available; i++)
            {
                var entityId = _wakeQueue.Dequeue();
                _wakeQueued.Remove(entityId);
                if (_unawake.TryGetValue(entityId, out var key) && IsActive(key.Id, key.Incarnation))
                {
                    region.Tell(new WakeRegistration(entityId), Self);
                }
                else
                {
                    _unawake.Remove(entityId);
                }
            }
        }

        if (_wakeQueue.Count > 0)
        {
            if (!Timers.IsTimerActive(WakesDue.Instance))
            {
                Timers.StartSingleTimer(WakesDue.Instance, WakesDue.Instance, FetchEnvironment.WakeTick);
            }
        }
        else if (_unawake.Count > 0 && !Timers.IsTimerActive(WakeUnanswered.Instance))
        {
            Timers.StartSingleTimer(WakeUnanswered.Instance, WakeUnanswered.Instance, _wakeRetry);
        }
    }

    /// <summary>Wakes again those that have not answered (a wake can be lost while a shard moves), less often each time.</summary>
    private void WakeUnansweredAgain()
    {
        if (_unawake.Count > 0)
        {
            LogWakingUnanswered(_environment.Log, _entityId, _unawake.Count);
        }

        foreach (var (entityId, key) in _unawake.ToArray())
        {
            if (IsActive(key.Id, key.Incarnation))
            {
                Wake(key.Id, key.Incarnation);
            }
            else
            {
                _unawake.Remove(entityId);
            }
        }

        _wakeRetry = TimeSpan.FromTicks(Math.Min(_wakeRetry.Ticks * 2, LastWakeRetry.Ticks));
        SendWakes();
    }

    private bool IsActive(string id, string incarnation) => _active.TryGetValue(id, out var active) && active.Incarnation == incarnation;

    /// <summary>
    /// A creator that heard nothing in time gives the reservation back. The registration goes too, told from here: the
    /// creation this index forwarded may still be on its way to it, and only a release sent after it, from this same
    /// actor through the same region, is sure to arrive after it (the creator's own release may arrive first).
    /// </summary>
    private void OnCancel(CancelReservation cancel)
    {
        // A creation already forwarded may reach its registration after the caller's own release: release it once more,
        // behind the creation. One still waiting for the reservation's write is dropped instead.
        if (_active.TryGetValue(cancel.Id, out var active) && active.Incarnation == cancel.Incarnation && !DropPendingCreation(cancel.Id, cancel.Incarnation))
        {
            _environment.RegistrationRegion?.Tell(new ReleaseRegistration(RegistrationActor.EntityIdFor(_entityId, cancel.Id, cancel.Incarnation)), Self);
        }

        PersistIfActive(cancel.Id, cancel.Incarnation, new ScopeReservationCancelled(cancel.Id, cancel.Incarnation));
    }

    private void PersistIfActive(string id, string incarnation, IEvent @event)
    {
        if (_active.TryGetValue(id, out var active) && active.Incarnation == incarnation)
        {
            PersistWithoutStash(@event, () => Apply(@event));
        }
    }

    /// <summary>Frees the id, then acknowledges; idempotent, so a registration can resend until it hears back.</summary>
    private void OnSettled(MarkIdSettled settled)
    {
        var replyTo = Sender;
        var ack = new IdSettledAck(settled.Id, settled.Incarnation);
        var key = (settled.Id, settled.Incarnation);
        if (_settling.Contains(key))
        {
            // A resend that arrived while the first settle's write is in flight (commands are not stashed meanwhile, so
            // the id is still active): journaling it again counted the stored bytes twice against the scope's quota
            // (issue 17, found in the cluster bench's failovers). The first write's ack answers the registration.
            return;
        }

        if (_active.TryGetValue(settled.Id, out var active) && active.Incarnation == settled.Incarnation)
        {
            var @event = new ScopeIdSettled(settled.Id, settled.Incarnation, settled.StoredBytes, _environment.TimeProvider.GetUtcNow());
            _settling.Add(key);
            PersistWithoutStash(@event, () =>
            {
                _settling.Remove(key);
                Apply(@event);
                replyTo.Tell(ack, Self);
            });
        }
        else
        {
            replyTo.Tell(ack, Self);
        }
    }

    private void OnReleased(MarkIdReleased released)
    {
        if (_settled.ContainsKey((released.Id, released.Incarnation)))
        {
            var @event = new ScopeIdReleased(released.Id, released.Incarnation);
            PersistWithoutStash(@event, () => Apply(@event));
        }
    }

    /// <summary>
    /// Journals one event without stashing commands; <paramref name="afterDurable"/> runs once it is
    /// stored (in persist order). Every write of a turn goes to the journal at the end of the turn.
    /// </summary>
    private void PersistWithoutStash(IEvent @event, Action afterDurable)
    {
        _writesInFlight++;
        PersistAsync(@event, _ =>
        {
            _writesInFlight--;
            _eventsSinceSnapshot++;
            afterDurable();
            SnapshotIfDue();
        });
    }

    /// <summary>
    /// Keeps the two newest snapshots and deletes the older ones. Decided by sequence number, not by the order
    /// the acknowledgements arrive in: two saves can complete out of order on PostgreSQL.
    /// </summary>
    private void KeepTwoNewestSnapshots(SaveSnapshotSuccess saved)
    {
        var sequenceNr = saved.Metadata.SequenceNr;
        if (sequenceNr > _newestSnapshot)
        {
            (_newestSnapshot, _secondNewestSnapshot) = (sequenceNr, _newestSnapshot);
        }
        else if (sequenceNr > _secondNewestSnapshot && sequenceNr != _newestSnapshot)
        {
            _secondNewestSnapshot = sequenceNr;
        }

        if (_secondNewestSnapshot > 1)
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(_secondNewestSnapshot - 1));
        }
    }

    private string? Resolve(string id) =>
        _active.TryGetValue(id, out var active) ? active.Incarnation : _latestSettled.GetValueOrDefault(id);

    private void SweepExpiredRecords()
    {
        if (_environment.RegistrationRegion is not { } region)
        {
            return;
        }

        var cutoff = _environment.TimeProvider.GetUtcNow() - _environment.Retention;
        foreach (var ((id, incarnation), settled) in _settled)
        {
            if (settled.SettledAt <= cutoff)
            {
                region.Tell(new ReleaseRegistration(RegistrationActor.EntityIdFor(_entityId, id, incarnation)), Self);
            }
        }
    }

    private void Apply(IEvent @event)
    {
        switch (@event)
        {
            case ScopeIdReserved reserved:
                var order = _nextOrder++;
                _active[reserved.Id] = new Active(reserved.Incarnation, reserved.ReservedBytes, order);
                _activeOrder[order] = reserved.Id;
                _usedBytes += reserved.ReservedBytes;
                break;
            case ScopeReservationCancelled cancelled:
                RemoveActive(cancelled.Id);
                break;
            case ScopeIdSettled settled:
                // Journals written before the resend guard (OnSettled) may hold a settle twice: only the first counts.
                if (_settled.ContainsKey((settled.Id, settled.Incarnation)))
                {
                    break;
                }

                RemoveActive(settled.Id);
                _settled[(settled.Id, settled.Incarnation)] = new Settled(settled.StoredBytes, settled.At);
                _usedBytes += settled.StoredBytes;
                _latestSettled[settled.Id] = settled.Incarnation;
                break;
            case ScopeIdReleased released:
                if (_settled.Remove((released.Id, released.Incarnation), out var gone))
                {
                    _usedBytes -= gone.StoredBytes;
                }

                if (_latestSettled.TryGetValue(released.Id, out var latest) && latest == released.Incarnation)
                {
                    _latestSettled.Remove(released.Id);
                }

                break;
        }
    }

    private void RemoveActive(string id)
    {
        if (_active.Remove(id, out var active))
        {
            _activeOrder.Remove(active.Order);
            _usedBytes -= active.ReservedBytes;
        }
    }

    private void SnapshotIfDue()
    {
        // With a write in flight the state holds a reservation (or the sequence numbers of events) not yet durable.
        if (_eventsSinceSnapshot >= Math.Max(SnapshotEvery, _entriesInLastSnapshot) && _writesInFlight == 0)
        {
            _eventsSinceSnapshot = 0;
            _entriesInLastSnapshot = _active.Count + _settled.Count;
            SaveSnapshot(new ScopeIndexSnapshot(
                [.. _activeOrder.Select(p => new ScopeIndexSnapshot.ActiveEntry(p.Value, _active[p.Value].Incarnation, _active[p.Value].ReservedBytes))],
                [.. _settled.Select(p => new ScopeIndexSnapshot.SettledEntry(p.Key.Id, p.Key.Incarnation, p.Value.StoredBytes, p.Value.SettledAt, _latestSettled.GetValueOrDefault(p.Key.Id) == p.Key.Incarnation))]));
        }
    }

    private void Restore(ScopeIndexSnapshot snapshot)
    {
        foreach (var active in snapshot.Active)
        {
            Apply(new ScopeIdReserved(active.Id, active.Incarnation, active.ReservedBytes, default));
        }

        foreach (var settled in snapshot.Settled)
        {
            _settled[(settled.Id, settled.Incarnation)] = new Settled(settled.StoredBytes, settled.SettledAt);
            _usedBytes += settled.StoredBytes;
            if (settled.Latest)
            {
                _latestSettled[settled.Id] = settled.Incarnation;
            }
        }
    }

    private sealed record Active(string Incarnation, long ReservedBytes, long Order);

    private sealed record Settled(long StoredBytes, DateTimeOffset SettledAt);

    private sealed class SweepExpired : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static SweepExpired Instance { get; } = new();
    }

    /// <summary>The next queued wakes are due.</summary>
    private sealed class WakesDue : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static WakesDue Instance { get; } = new();
    }

    /// <summary>Woken registrations that have not answered are due to be woken again.</summary>
    private sealed class WakeUnanswered : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static WakeUnanswered Instance { get; } = new();
    }

    /// <summary>Time to compare the cluster's members with the last look.</summary>
    private sealed class MembersDue : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static MembersDue Instance { get; } = new();
    }
}

/// <summary>The scope index's state, so recovery does not replay every reservation ever made.</summary>
[SerializedName("bgfetch.scope.snapshot.v1")]
public sealed record ScopeIndexSnapshot(IReadOnlyList<ScopeIndexSnapshot.ActiveEntry> Active, IReadOnlyList<ScopeIndexSnapshot.SettledEntry> Settled)
{
    /// <summary>An active registration, in creation order.</summary>
    public sealed record ActiveEntry(string Id, string Incarnation, long ReservedBytes);

    /// <summary>A settled, unreleased registration.</summary>
    public sealed record SettledEntry(string Id, string Incarnation, long StoredBytes, DateTimeOffset SettledAt, bool Latest);
}
