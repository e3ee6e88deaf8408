using System.Collections.Concurrent;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// Holds the first batch until <see cref="Release"/>, so writes issued meanwhile pile up and must
/// share the next batch: batching is then observed, not hoped for.
/// </summary>
internal sealed class GatedJournal(IJournal inner) : DelegatingJournal(inner)
{
    private readonly TaskCompletionSource _firstBatchEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _batches;

    public ConcurrentQueue<int> BatchSizes { get; } = new();

    public Task FirstBatchEntered => _firstBatchEntered.Task;

    public void Release() => _gate.TrySetResult();

    public override async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        BatchSizes.Enqueue(writes.Count);
        if (Interlocked.Increment(ref _batches) == 1)
        {
            _firstBatchEntered.TrySetResult();
            await _gate.Task.WaitAsync(JournalData.Deadline, cancellationToken);
        }

        await Inner.WriteAsync(writes, cancellationToken);
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
