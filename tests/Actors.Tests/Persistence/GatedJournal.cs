using System.Collections.Concurrent;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// Holds the first batch of writes, and the first batch of highest-sequence-number reads, until <see cref="Release"/>,
/// so writes or reads issued meanwhile pile up and must share the next batch: batching is then observed, not hoped for.
/// </summary>
/// <param name="inner">The real journal.</param>
/// <param name="holdWrites">False to hold only reads (writes then pass straight through).</param>
internal sealed class GatedJournal(IJournal inner, bool holdWrites = true) : DelegatingJournal(inner)
{
    private readonly TaskCompletionSource _firstBatchEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstReadBatchEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _batches;
    private int _readBatches;

    public ConcurrentQueue<int> BatchSizes { get; } = new();

    public ConcurrentQueue<int> ReadBatchSizes { get; } = new();

    public Task FirstBatchEntered => _firstBatchEntered.Task;

    public Task FirstReadBatchEntered => _firstReadBatchEntered.Task;

    public void Release() => _gate.TrySetResult();

    public override async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        BatchSizes.Enqueue(writes.Count);
        if (holdWrites && Interlocked.Increment(ref _batches) == 1)
        {
            _firstBatchEntered.TrySetResult();
            await _gate.Task.WaitAsync(JournalData.Deadline, cancellationToken);
        }

        await Inner.WriteAsync(writes, cancellationToken);
    }

    public override async Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(IReadOnlyList<string> persistenceIds, CancellationToken cancellationToken = default)
    {
        ReadBatchSizes.Enqueue(persistenceIds.Count);
        if (Interlocked.Increment(ref _readBatches) == 1)
        {
            _firstReadBatchEntered.TrySetResult();
            await _gate.Task.WaitAsync(JournalData.Deadline, cancellationToken);
        }

        return await Inner.ReadHighestSequenceNrsAsync(persistenceIds, cancellationToken);
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
