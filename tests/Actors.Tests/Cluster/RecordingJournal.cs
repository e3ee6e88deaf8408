using System.Collections.Concurrent;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Tests.Persistence;

namespace BgFetchCluster.Actors.Tests.Cluster;

/// <summary>
/// Records the size of every atomic write per persistence id and can hold writes at a gate, so a
/// test can pile up changes while one write is in flight and then see how they were batched.
/// </summary>
internal sealed class RecordingJournal(IJournal inner) : DelegatingJournal(inner)
{
    private readonly TaskCompletionSource _writeEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource? _gate;

    public ConcurrentQueue<(string PersistenceId, int Events)> Writes { get; } = new();

    /// <summary>Completes when a write reaches the journal while it is held.</summary>
    public Task WriteEntered => _writeEntered.Task;

    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate?.TrySetResult();

    public override async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        foreach (var write in writes)
        {
            Writes.Enqueue((write.PersistenceId, write.Events.Count));
        }

        if (_gate is { } gate)
        {
            _writeEntered.TrySetResult();
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }

        await Inner.WriteAsync(writes, cancellationToken);
    }
}
