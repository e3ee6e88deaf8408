namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Hands out the right to fetch: at most <see cref="FetchOptions.MaxConcurrentRecords"/> records on the
/// node and <see cref="FetchOptions.MaxConnectionsPerServer"/> per origin at once. Registrations take
/// turns (round robin, one grant each per turn), so a registration of one request is served next to
/// one of ten thousand instead of behind it; within a registration, records go in order. A record
/// waiting for a busy origin holds nothing, so records for other origins go ahead.
/// </summary>
public sealed class FetchScheduler
{
    private readonly Lock _gate = new();
    private readonly int _nodeLimit;
    private readonly int _originLimit;
    private readonly Dictionary<string, Queue<Waiter>> _queues = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _turns = new();
    private readonly Dictionary<string, OriginCount> _origins = new(StringComparer.OrdinalIgnoreCase);
    private int _active;

    /// <summary>Creates a scheduler with the limits of <paramref name="options"/>.</summary>
    public FetchScheduler(FetchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _nodeLimit = Math.Max(1, options.MaxConcurrentRecords);
        _originLimit = Math.Max(1, options.MaxConnectionsPerServer);
    }

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
        var waiter = new Waiter(origin);
        lock (_gate)
        {
            if (!_queues.TryGetValue(registrationKey, out var queue))
            {
                queue = new Queue<Waiter>();
                _queues.Add(registrationKey, queue);
                _turns.AddLast(registrationKey);
            }

            queue.Enqueue(waiter);
            Origin(origin).Waiting++;
            Dispatch();
        }

        if (!waiter.Granted.Task.IsCompleted)
        {
            using (cancellationToken.Register(() => Cancel(waiter)))
            {
                await waiter.Granted.Task.ConfigureAwait(false);
            }
        }

        return new Lease(this, origin);
    }

    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Granted.Task.IsCompleted)
            {
                return;
            }

            // Left in its queue and skipped when it comes up: removal from the middle would cost a scan.
            waiter.Cancelled = true;
            var origin = Origin(waiter.Origin);
            origin.Waiting--;
            Forget(waiter.Origin, origin);
        }

        waiter.Granted.TrySetCanceled();
    }

    private void Release(string origin)
    {
        lock (_gate)
        {
            _active--;
            var count = Origin(origin);
            count.Active--;
            Forget(origin, count);
            Dispatch();
        }
    }

    /// <summary>Grants turns while the node has room and some waiting origin has room; under the lock.</summary>
    private void Dispatch()
    {
        while (_active < _nodeLimit && AnyWaitingOriginHasRoom())
        {
            // One pass over the registrations in turn order; each gets at most one grant per pass.
            for (var remaining = _turns.Count; remaining > 0 && _active < _nodeLimit; remaining--)
            {
                var key = _turns.First!.Value;
                _turns.RemoveFirst();
                var queue = _queues[key];
                SkipCancelled(queue);
                if (queue.Count > 0 && Origin(queue.Peek().Origin) is var origin && origin.Active < _originLimit)
                {
                    var waiter = queue.Dequeue();
                    origin.Waiting--;
                    origin.Active++;
                    _active++;
                    waiter.Granted.TrySetResult();
                    SkipCancelled(queue);
                }

                if (queue.Count > 0)
                {
                    _turns.AddLast(key);
                }
                else
                {
                    _queues.Remove(key);
                }
            }
        }
    }

    private bool AnyWaitingOriginHasRoom()
    {
        foreach (var count in _origins.Values)
        {
            if (count.Waiting > 0 && count.Active < _originLimit)
            {
                return true;
            }
        }

        return false;
    }

    private static void SkipCancelled(Queue<Waiter> queue)
    {
        while (queue.Count > 0 && queue.Peek().Cancelled)
        {
            queue.Dequeue();
        }
    }

    private OriginCount Origin(string origin)
    {
        if (!_origins.TryGetValue(origin, out var count))
        {
            count = new OriginCount();
            _origins.Add(origin, count);
        }

        return count;
    }

    /// <summary>Keeps the table to the origins in use.</summary>
    private void Forget(string origin, OriginCount count)
    {
        if (count is { Active: 0, Waiting: 0 })
        {
            _origins.Remove(origin);
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

    private sealed class OriginCount
    {
        public int Active;
        public int Waiting;
    }

    private sealed class Waiter(string origin)
    {
        public string Origin { get; } = origin;

        public bool Cancelled { get; set; }

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
