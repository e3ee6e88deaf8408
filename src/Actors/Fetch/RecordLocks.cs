namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// One writer per record at a time: a record task cancelled by a stop may still be unwinding when its replacement
/// starts, and the replacement waits so two writers never share a body. A record's lock exists only while a task
/// holds it or waits for it, so a node that has fetched millions of records keeps no trace of them here.
/// </summary>
/// <remarks>
/// Invariant: an entry's <c>Users</c> counts the tasks that hold or wait for its semaphore, and the entry is in the
/// table exactly while that count is positive. Both change under <c>_gate</c> only; the semaphore is released
/// outside it, so a waiter's continuation never runs inside the gate.
/// </remarks>
internal sealed class RecordLocks
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The records whose lock is held or awaited right now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Waits for the record's lock; dispose the result to release it.</summary>
    public async Task<IDisposable> AcquireAsync(string registrationKey, int index, CancellationToken cancellationToken = default)
    {
        var key = registrationKey + "#" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Entry? entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out entry))
            {
                entry = new Entry();
                _entries.Add(key, entry);
            }

            entry.Users++;
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(key, entry, holds: false);
            throw;
        }

        return new Holder(this, key, entry);
    }

    private void Leave(string key, Entry entry, bool holds)
    {
        bool last;
        lock (_gate)
        {
            last = --entry.Users == 0;
            if (last)
            {
                _entries.Remove(key);
            }
        }

        // The last user drops the semaphore with the entry; otherwise the next waiter (or the next to come) takes it.
        if (holds && !last)
        {
            entry.Semaphore.Release();
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }

    private sealed class Holder(RecordLocks owner, string key, Entry entry) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Leave(key, entry, holds: true);
            }
        }
    }
}
