using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Runtime;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// The registrations of one scope: which ids are active (unique among active ones; of concurrent
/// reservations of one id exactly one wins, because the index handles one command at a time and
/// stashes the rest while a reservation is persisted), which incarnation an id names, how much of
/// the quota is used, and when settled registrations are due for automatic release.
/// </summary>
/// <remarks>
/// Group commit: one write is in flight at a time and everything that arrives meanwhile goes out as
/// the next batch (<c>PersistAllAsync</c>), so a busy scope costs one round trip per batch, not per
/// registration. Checks count the reservations that are accepted but not yet durable
/// (<see cref="_pendingReserved"/>), so two creations of one id can never both succeed.
/// </remarks>
public sealed class ScopeIndexActor : PersistentActor
{
    private const int SnapshotEvery = 1000;

    private readonly string _entityId;
    private readonly FetchEnvironment _environment;

    /// <summary>Active ids in creation order (the dictionary keeps insertion order while nothing is removed before them).</summary>
    private readonly SortedDictionary<long, string> _activeOrder = [];
    private readonly Dictionary<string, Active> _active = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Id, string Incarnation), Settled> _settled = [];
    private readonly Dictionary<string, string> _latestSettled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingReserved = new(StringComparer.Ordinal);
    private readonly List<(IEvent Event, Action AfterDurable)> _batch = [];
    private bool _writing;
    private long _nextOrder;
    private long _usedBytes;
    private int _eventsSinceSnapshot;

    /// <summary>Creates the index entity of one scope.</summary>
    public ScopeIndexActor(string entityId, FetchEnvironment environment)
    {
        _entityId = entityId;
        _environment = environment;
        Recover<SnapshotOffer>(offer => Restore((ScopeIndexSnapshot)offer.Snapshot));
        Recover<IEvent>(Apply);
        Command<ReserveId>(OnReserve);
        Command<CancelReservation>(cancel => EnqueueIfActive(cancel.Id, cancel.Incarnation, new ScopeReservationCancelled(cancel.Id, cancel.Incarnation)));
        Command<MarkIdSettled>(OnSettled);
        Command<MarkIdReleased>(OnReleased);
        Command<ResolveId>(resolve => Sender.Tell(new IdResolved(resolve.Id, Resolve(resolve.Id)), Self));
        Command<GetActiveIds>(_ => Sender.Tell(new ActiveIds([.. _activeOrder.Values]), Self));
        Command<SweepExpired>(_ => SweepExpiredRecords());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
        Command<RecordsReleasedReply>(_ => { });
        Command<RegistrationNotFound>(_ => { });
    }

    /// <summary>Props for the shard region's entity factory.</summary>
    public static Props Props(string entityId, FetchEnvironment environment) =>
        Runtime.Props.Create(() => new ScopeIndexActor(entityId, environment));

    /// <summary>The index entity of a scope.</summary>
    public static string EntityIdFor(string scope) => scope;

    /// <inheritdoc />
    public override string PersistenceId => "scope-index-" + _entityId;

    /// <inheritdoc />
    protected override void OnRecoveryCompleted()
    {
        // Sweep often enough that a registration outlives its retention by at most a quarter of it (and 30 s).
        var interval = TimeSpan.FromTicks(Math.Clamp(_environment.Retention.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(30).Ticks));
        Timers.StartPeriodicTimer(SweepExpired.Instance, SweepExpired.Instance, interval);
    }

    private void OnReserve(ReserveId reserve)
    {
        if (_active.ContainsKey(reserve.Id) || _pendingReserved.ContainsKey(reserve.Id))
        {
            Sender.Tell(new ReservationRefused("TypeError", 409, $"The scope already has an active registration with id '{reserve.Id}'."), Self);
            return;
        }

        if (_active.Count + _pendingReserved.Count >= reserve.MaxActive)
        {
            Sender.Tell(new ReservationRefused("TypeError", 429, $"The scope is at its limit of {reserve.MaxActive} active registrations."), Self);
            return;
        }

        var remaining = reserve.QuotaBytes - _usedBytes - _pendingReserved.Values.Sum();
        if (reserve.DownloadTotal > remaining || reserve.UploadTotal > remaining)
        {
            Sender.Tell(new ReservationRefused("QuotaExceededError", 413, $"The request needs more storage than the scope has left ({Math.Max(0, remaining)} bytes)."), Self);
            return;
        }

        var replyTo = Sender;
        _pendingReserved[reserve.Id] = reserve.DownloadTotal;
        Enqueue(new ScopeIdReserved(reserve.Id, reserve.Incarnation, reserve.DownloadTotal, _environment.TimeProvider.GetUtcNow()), () =>
        {
            _pendingReserved.Remove(reserve.Id);
            replyTo.Tell(new IdReserved(reserve.Id, reserve.Incarnation, remaining), Self);
        });
    }

    private void EnqueueIfActive(string id, string incarnation, IEvent @event)
    {
        if (_active.TryGetValue(id, out var active) && active.Incarnation == incarnation)
        {
            Enqueue(@event, static () => { });
        }
    }

    /// <summary>Frees the id, then acknowledges; idempotent, so a registration can resend until it hears back.</summary>
    private void OnSettled(MarkIdSettled settled)
    {
        var replyTo = Sender;
        var ack = new IdSettledAck(settled.Id, settled.Incarnation);
        if (_active.TryGetValue(settled.Id, out var active) && active.Incarnation == settled.Incarnation)
        {
            Enqueue(new ScopeIdSettled(settled.Id, settled.Incarnation, settled.StoredBytes, _environment.TimeProvider.GetUtcNow()), () => replyTo.Tell(ack, Self));
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
            Enqueue(new ScopeIdReleased(released.Id, released.Incarnation), static () => { });
        }
    }

    private void Enqueue(IEvent @event, Action afterDurable)
    {
        _batch.Add((@event, afterDurable));
        if (!_writing)
        {
            Flush();
        }
    }

    private void Flush()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        var batch = _batch.ToArray();
        _batch.Clear();
        _writing = true;
        var applied = 0;
        PersistAllAsync(batch.Select(static b => b.Event), e =>
        {
            Apply(e);
            batch[applied++].AfterDurable();
            if (applied == batch.Length)
            {
                _writing = false;
                _eventsSinceSnapshot += batch.Length;
                SnapshotIfDue();
                Flush();
            }
        });
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
        if (_eventsSinceSnapshot >= SnapshotEvery)
        {
            _eventsSinceSnapshot = 0;
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

    private sealed class SweepExpired : INotInfluenceReceiveTimeout
    {
        public static SweepExpired Instance { get; } = new();
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
