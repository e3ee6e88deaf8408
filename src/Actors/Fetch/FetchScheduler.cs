namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Hands out the right to fetch: at most <see cref="FetchOptions.MaxConcurrentRecords"/> records on the
/// node and <see cref="FetchOptions.MaxConnectionsPerServer"/> per origin at once. Registrations take
/// turns (round robin, one grant each per turn), so a registration of one request is served next to
/// one of ten thousand instead of behind it; within a registration, records go in order. A record
/// waiting for a busy origin holds nothing, so records for other origins go ahead.
/// </summary>
/// <remarks>
/// Nothing here costs O(waiting registrations) (issue 17): a node can hold a backlog of 100,000 behind one
/// busy origin. A registration waits in the ring of the origin its first waiting record needs; each ring is
/// in turn order (a turn stamp, taken when the registration joins the ring). Origins with room and a
/// non-empty ring sit in a heap by the stamp of their ring's first registration, so the next grant is the
/// registration that has waited longest for its turn among those that can go: the round robin over all
/// registrations, without looking at any that cannot. A granted registration takes a new stamp and joins
/// the ring of its next record's origin (the back of the round); one waiting for a busy origin keeps its
/// place. A grant or a release costs O(1) in the registrations and O(log o) in the o origins with room.
/// </remarks>
public sealed class FetchScheduler
{
    private readonly Lock _gate = new();
    private readonly int _nodeLimit;
    private readonly int _originLimit;
    private readonly Dictionary<string, Registration> _registrations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OriginState> _origins = new(StringComparer.OrdinalIgnoreCase);

    // Origins that may have room and a waiting registration, keyed by a stamp no later than their first
    // registration's: turn stamps only grow within a ring, so an origin whose first registration changed is
    // found early and put back with its current stamp instead of being searched for in the heap.
    private readonly PriorityQueue<OriginState, long> _ready = new();
    // Turns granted to parked registrations, held for them while they start again (or until the reservation runs out).
    private readonly Dictionary<(string Registration, string Origin), Reservation> _reservations = [];
    private readonly TimeProvider _timeProvider;
    private long _clock;
    private long _dispatchSteps;
    private int _active;

    /// <summary>Creates a scheduler with the limits of <paramref name="options"/>.</summary>
    public FetchScheduler(FetchOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _nodeLimit = Math.Max(1, options.MaxConcurrentRecords);
        _originLimit = Math.Max(1, options.MaxConnectionsPerServer);
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// How long a turn granted to a parked registration (<see cref="TryPark"/>) is held for it while it starts again; one
    /// that does not come for it (it started on another node meanwhile) gives the place to the next after this.
    /// </summary>
    public static TimeSpan ReservationTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Records fetching now.</summary>
    public int Active
    {
        get
        {
            lock (_gate)
            {
                return _active;
            }
        }
    }

    /// <summary>
    /// Origins taken off the ready heap since creation, each looking at one registration at most: what a
    /// dispatch costs, so a test can check that a release does not walk the waiting registrations.
    /// </summary>
    internal long DispatchSteps
    {
        get
        {
            lock (_gate)
            {
                return _dispatchSteps;
            }
        }
    }

    /// <summary>The origin key of <paramref name="url"/>: scheme, host and port.</summary>
    public static string OriginOf(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : url;

    /// <summary>
    /// Waits for a turn of <paramref name="registrationKey"/> with a free place at <paramref name="origin"/>;
    /// dispose the lease when the fetch ends.
    /// </summary>
    public async ValueTask<Lease> AcquireAsync(string registrationKey, string origin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        ArgumentNullException.ThrowIfNull(origin);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        TaskCompletionSource granted;
        lock (_gate)
        {
            var state = Origin(origin);
            if (_reservations.TryGetValue((registrationKey, state.Key), out var reservation))
            {
                // Parked, its turn came, and it started again for it: the place is already counted as this record's.
                Claim((registrationKey, state.Key), reservation);
                return new Lease(this, origin);
            }

            if (!_registrations.TryGetValue(registrationKey, out var registration))
            {
                registration = new Registration(registrationKey);
                _registrations.Add(registrationKey, registration);
            }

            if (registration.Adopt(state) is { } parked)
            {
                // Started again before its turn came: the record keeps the place its parked predecessor held.
                waiter = parked;
            }
            else
            {
                state.Waiting++;
                waiter = new Waiter(registration, state);
                registration.Waiters.Enqueue(waiter);
                if (registration.Waiters.Count == 1)
                {
                    Join(registration, state);
                }

                Dispatch();
            }

            granted = waiter.Granted;
        }

        if (!granted.Task.IsCompleted)
        {
            using (cancellationToken.Register(() => Cancel(waiter, granted)))
            {
                await granted.Task.ConfigureAwait(false);
            }
        }

        return new Lease(this, origin);
    }

    /// <summary>
    /// Parks the registration <paramref name="registrationKey"/> whose <paramref name="downloads"/> records are all
    /// waiting for a turn, so that it can passivate (issue 17, W5): its waiting records keep their places, and when one
    /// comes up, the turn is held for it (<see cref="ReservationTimeout"/>) and <paramref name="wake"/> runs (it starts the
    /// registration again, whose record, asking again, takes the held turn).
    /// False, changing nothing, if not every one of its records is waiting.
    /// </summary>
    /// <remarks>
    /// The parked records' tasks stay blocked until their tokens are cancelled, as the passivating registration does:
    /// they are never granted. <paramref name="wake"/> runs under the scheduler's lock, so it must only send a message.
    /// A registration that started on another node meanwhile (its shard moved) costs a wake message and a turn held for
    /// nobody for <see cref="ReservationTimeout"/>.
    /// </remarks>
    public bool TryPark(string registrationKey, int downloads, Action wake)
    {
        ArgumentNullException.ThrowIfNull(registrationKey);
        ArgumentNullException.ThrowIfNull(wake);
        lock (_gate)
        {
            if (!_registrations.TryGetValue(registrationKey, out var registration) || registration.Wake is not null
                || registration.Waiters.Count(static w => !w.Cancelled && !w.Parked) != downloads)
            {
                return false;
            }

            foreach (var waiter in registration.Waiters)
            {
                waiter.Parked = true;
            }

            registration.Wake = wake;
            return true;
        }
    }

    /// <summary>True if the registration is parked here or a turn is held for it: it is starting again because of that.</summary>
    public bool IsParked(string registrationKey)
    {
        lock (_gate)
        {
            return (_registrations.TryGetValue(registrationKey, out var registration) && registration.Wake is not null)
                || _reservations.Keys.Any(key => key.Registration == registrationKey);
        }
    }

    /// <summary>True if the registration is parked here and its turn has not come yet (no turn is held for it).</summary>
    public bool IsParkedWaiting(string registrationKey)
    {
        lock (_gate)
        {
            return _registrations.TryGetValue(registrationKey, out var registration) && registration.Wake is not null
                && !_reservations.Keys.Any(key => key.Registration == registrationKey);
        }
    }

    /// <summary>
    /// Forgets what the registration left parked here: its records that no incarnation asked for again (it settled, or
    /// started them elsewhere) and the turns held for it. A registration that settles calls it, so that a parked record of
    /// an aborted one never wakes it again and holds no turn.
    /// </summary>
    public void Unpark(string registrationKey)
    {
        lock (_gate)
        {
            var changed = false;

            // Every settlement calls this; nearly always nothing is held or parked, and it costs two lookups.
            foreach (var key in _reservations.Count == 0 ? [] : _reservations.Keys.Where(key => key.Registration == registrationKey).ToList())
            {
                ReleaseReservation(key);
                changed = true;
            }

            if (_registrations.TryGetValue(registrationKey, out var registration) && registration.Wake is not null)
            {
                registration.Wake = null;
                var head = registration.Waiters.Peek();
                foreach (var waiter in registration.Waiters.Where(static w => w is { Parked: true, Cancelled: false }))
                {
                    waiter.Cancelled = true;
                    waiter.Origin.Waiting--;
                    Forget(waiter.Origin);
                }

                if (head.Cancelled)
                {
                    Leave(registration);
                    registration.Waiters.Dequeue();
                    Advance(registration);
                    changed = true;
                }
            }

            if (changed)
            {
                Dispatch();
            }
        }
    }

    /// <summary>Records of <paramref name="registrationKey"/> waiting for a turn, not parked.</summary>
    public int WaitingOf(string registrationKey)
    {
        lock (_gate)
        {
            return _registrations.TryGetValue(registrationKey, out var registration)
                ? registration.Waiters.Count(static w => !w.Cancelled && !w.Parked)
                : 0;
        }
    }

    private void Cancel(Waiter waiter, TaskCompletionSource granted)
    {
        lock (_gate)
        {
            if (granted.Task.IsCompleted)
            {
                return;
            }

            if (waiter.Parked || !ReferenceEquals(waiter.Granted, granted))
            {
                // The task of a parked record (its registration passivates): the record keeps its place in the queue.
                granted.TrySetCanceled();
                return;
            }

            waiter.Cancelled = true;
            var origin = waiter.Origin;
            origin.Waiting--;
            var registration = waiter.Registration;
            if (ReferenceEquals(registration.Waiters.Peek(), waiter))
            {
                // The registration's head: its next record may need another origin, which may have room now.
                Leave(registration);
                registration.Waiters.Dequeue();
                Advance(registration);
                Dispatch();
            }

            // Otherwise left in its queue and skipped when it comes up: removal from the middle would cost a scan.
            Forget(origin);
        }

        waiter.Granted.TrySetCanceled();
    }

    private void Release(string origin)
    {
        lock (_gate)
        {
            _active--;
            var state = Origin(origin);
            state.Active--;
            MarkReady(state);
            Forget(state);
            Dispatch();
        }
    }

    /// <summary>Grants turns while the node has room and some origin with room has a waiting registration; under the lock.</summary>
    private void Dispatch()
    {
        while (_active < _nodeLimit && _ready.TryDequeue(out var origin, out var stamp))
        {
            _dispatchSteps++;
            origin.Queued = false;
            var registration = origin.First;
            if (registration is null || origin.Active >= _originLimit)
            {
                // Full or idle now; MarkReady queues it again when a lease ends or a registration joins.
                Forget(origin);
                continue;
            }

            if (registration.Stamp != stamp)
            {
                // Its first registration left (cancelled) since it was queued: back in at the current one's turn.
                MarkReady(origin);
                continue;
            }

            Leave(registration);
            var waiter = registration.Waiters.Dequeue();
            origin.Waiting--;
            origin.Active++;
            _active++;
            if (waiter.Parked)
            {
                // Passivated: the turn is held for it while it starts again.
                Reserve(registration, origin);
            }
            else
            {
                waiter.Granted.TrySetResult();
            }

            Advance(registration);
            MarkReady(origin);
        }
    }

    /// <summary>After its head left: skips cancelled records and queues the registration for its next record's origin.</summary>
    private void Advance(Registration registration)
    {
        var waiters = registration.Waiters;
        while (waiters.Count > 0 && waiters.Peek().Cancelled)
        {
            waiters.Dequeue();
        }

        if (waiters.Count > 0)
        {
            Join(registration, waiters.Peek().Origin);
        }
        else
        {
            _registrations.Remove(registration.Key);
        }
    }

    /// <summary>A parked registration's turn came: it is held for it, and it is woken; under the lock.</summary>
    private void Reserve(Registration registration, OriginState origin)
    {
        var key = (registration.Key, origin.Key);
        if (_reservations.TryGetValue(key, out var held))
        {
            held.Count++;
        }
        else
        {
            var reservation = new Reservation();
            reservation.Expiry = _timeProvider.CreateTimer(_ => Expire(key, reservation), null, ReservationTimeout, Timeout.InfiniteTimeSpan);
            _reservations.Add(key, reservation);
        }

        registration.Wake!();
    }

    /// <summary>A record of the woken registration takes one held turn; under the lock.</summary>
    private void Claim((string Registration, string Origin) key, Reservation reservation)
    {
        if (--reservation.Count == 0)
        {
            _reservations.Remove(key);
            reservation.Expiry!.Dispose();
        }
    }

    /// <summary>Nobody came for the held turns in time: they go to the next waiting.</summary>
    private void Expire((string Registration, string Origin) key, Reservation reservation)
    {
        lock (_gate)
        {
            if (_reservations.TryGetValue(key, out var current) && ReferenceEquals(current, reservation))
            {
                ReleaseReservation(key);
                Dispatch();
            }
        }
    }

    /// <summary>Gives the turns held under <paramref name="key"/> back; under the lock, the caller dispatches.</summary>
    private void ReleaseReservation((string Registration, string Origin) key)
    {
        if (!_reservations.Remove(key, out var reservation))
        {
            return;
        }

        reservation.Expiry!.Dispose();
        var origin = Origin(key.Origin);
        _active -= reservation.Count;
        origin.Active -= reservation.Count;
        MarkReady(origin);
        Forget(origin);
    }

    /// <summary>Puts <paramref name="registration"/> at the back of <paramref name="origin"/>'s ring with a new turn stamp.</summary>
    private void Join(Registration registration, OriginState origin)
    {
        registration.Stamp = ++_clock;
        registration.Ring = origin;
        registration.Previous = origin.Last;
        registration.Next = null;
        if (origin.Last is null)
        {
            origin.First = registration;
        }
        else
        {
            origin.Last.Next = registration;
        }

        origin.Last = registration;
        MarkReady(origin);
    }

    /// <summary>Takes <paramref name="registration"/> out of its origin's ring, wherever it is in it.</summary>
    private static void Leave(Registration registration)
    {
        var origin = registration.Ring!;
        if (registration.Previous is null)
        {
            origin.First = registration.Next;
        }
        else
        {
            registration.Previous.Next = registration.Next;
        }

        if (registration.Next is null)
        {
            origin.Last = registration.Previous;
        }
        else
        {
            registration.Next.Previous = registration.Previous;
        }

        registration.Ring = null;
        registration.Previous = null;
        registration.Next = null;
    }

    /// <summary>Queues <paramref name="origin"/> for dispatch when it has room and a waiting registration and is not queued.</summary>
    private void MarkReady(OriginState origin)
    {
        if (!origin.Queued && origin.First is { } first && origin.Active < _originLimit)
        {
            origin.Queued = true;
            _ready.Enqueue(origin, first.Stamp);
        }
    }

    private OriginState Origin(string origin)
    {
        if (!_origins.TryGetValue(origin, out var state))
        {
            state = new OriginState(origin);
            _origins.Add(origin, state);
        }

        return state;
    }

    /// <summary>Keeps the table to the origins in use; one still in the ready heap stays until it comes off it.</summary>
    private void Forget(OriginState origin)
    {
        if (origin is { Active: 0, Waiting: 0, Queued: false })
        {
            _origins.Remove(origin.Key);
        }
    }

    /// <summary>A granted turn; disposing it frees the place for the next waiter.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly FetchScheduler? _owner;
        private readonly string _origin;

        internal Lease(FetchScheduler owner, string origin)
        {
            _owner = owner;
            _origin = origin;
        }

        /// <inheritdoc />
        public void Dispose() => _owner?.Release(_origin);
    }

    /// <summary>An origin's places in use, its waiting records, and the ring of registrations whose next record needs it.</summary>
    private sealed class OriginState(string key)
    {
        public string Key { get; } = key;

        public int Active;
        public int Waiting;
        public bool Queued;
        public Registration? First;
        public Registration? Last;
    }

    /// <summary>Turns held for a parked registration's records at one origin, and the timer that gives them back.</summary>
    private sealed class Reservation
    {
        public int Count = 1;
        public ITimer? Expiry;
    }

    /// <summary>A registration with records waiting, in order; it is in the ring of its first record's origin.</summary>
    private sealed class Registration(string key)
    {
        public string Key { get; } = key;

        public Queue<Waiter> Waiters { get; } = new();

        /// <summary>Set while parked: what starts it again when a parked record's turn comes.</summary>
        public Action? Wake;

        /// <summary>A parked record at <paramref name="origin"/> handed to a record of the registration started again.</summary>
        public Waiter? Adopt(OriginState origin)
        {
            foreach (var waiter in Waiters)
            {
                if (waiter is { Parked: true, Cancelled: false } && ReferenceEquals(waiter.Origin, origin))
                {
                    waiter.Parked = false;
                    waiter.Granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    if (!Waiters.Any(static w => w.Parked))
                    {
                        Wake = null;
                    }

                    return waiter;
                }
            }

            return null;
        }

        public long Stamp;
        public OriginState? Ring;
        public Registration? Previous;
        public Registration? Next;
    }

    private sealed class Waiter(Registration registration, OriginState origin)
    {
        public Registration Registration { get; } = registration;

        public OriginState Origin { get; } = origin;

        public bool Cancelled { get; set; }

        /// <summary>Its registration passivated while it waited; a grant reserves the turn instead of handing it over.</summary>
        public bool Parked { get; set; }

        public TaskCompletionSource Granted { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
