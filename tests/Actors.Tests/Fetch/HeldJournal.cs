using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Tests.Persistence;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// Holds the plugin's next write at a gate after <see cref="Hold"/>: released, it is stored; failed, it throws as a
/// storage error would, and so does the batching journal's retry of the same writes, so the failure reaches the actor.
/// Given a persistence id prefix, only a batch holding a write of such an actor is held, and only those writes fail
/// (the batching journal retries a failed batch write by write, so the other actors' writes of it are stored).
/// </summary>
internal sealed class HeldJournal(IJournal inner) : DelegatingJournal(inner)
{
    private readonly HashSet<AtomicWrite> _failed = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool>? _gate;
    private string? _only;

    /// <summary>Completes once a write has arrived at the gate set by the last <see cref="Hold"/>.</summary>
    public Task WriteEntered
    {
        get
        {
            lock (_lock)
            {
                return _entered.Task;
            }
        }
    }

    public void Hold(string? onlyPersistenceIdsStartingWith = null)
    {
        lock (_lock)
        {
            _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _only = onlyPersistenceIdsStartingWith;
        }
    }

    public void Release() => Open(true);

    public void Fail() => Open(false);

    public override async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<bool>? gate;
        string? only;
        lock (_lock)
        {
            if (writes.Any(_failed.Contains))
            {
                throw new IOException("The test failed this write.");
            }

            gate = _gate;
            only = _only;
            if (gate is not null && only is not null && !writes.Any(w => w.PersistenceId.StartsWith(only, StringComparison.Ordinal)))
            {
                gate = null;
            }
            else
            {
                _entered.TrySetResult();
            }
        }

        if (gate is not null && !await gate.Task.WaitAsync(FetchTestConfig.Timeout, cancellationToken))
        {
            lock (_lock)
            {
                _failed.UnionWith(only is null ? writes : writes.Where(w => w.PersistenceId.StartsWith(only, StringComparison.Ordinal)));
            }

            throw new IOException("The test failed this write.");
        }

        await Inner.WriteAsync(writes, cancellationToken);
    }

    private void Open(bool store)
    {
        TaskCompletionSource<bool>? gate;
        lock (_lock)
        {
            gate = _gate;
            _gate = null;
        }

        gate?.TrySetResult(store);
    }
}
