using System.Collections.Concurrent;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// Holds the first batch until <see cref="Release"/>, so writes issued meanwhile pile up and must
/// share the next batch: batching is then observed, not hoped for.
/// </summary>
internal sealed class GatedJournal(IJournal inner) : IJournal
{
    private readonly TaskCompletionSource _firstBatchEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _batches;

    public ConcurrentQueue<int> BatchSizes { get; } = new();

    public Task FirstBatchEntered => _firstBatchEntered.Task;

    public void Release() => _gate.TrySetResult();

    public async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        BatchSizes.Enqueue(writes.Count);
        if (Interlocked.Increment(ref _batches) == 1)
        {
            _firstBatchEntered.TrySetResult();
            await _gate.Task.WaitAsync(JournalData.Deadline, cancellationToken);
        }

        await inner.WriteAsync(writes, cancellationToken);
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default) =>
        inner.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, cancellationToken);

    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default) =>
        inner.ReadHighestSequenceNrAsync(persistenceId, cancellationToken);

    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
        inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
