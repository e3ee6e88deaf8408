using System.Collections.Concurrent;
using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>BatchingJournal's own rules, over an in-memory journal that can be told to fail.</summary>
public sealed class BatchingJournalTests
{
    [Fact]
    public async Task WriteAsync_WritesIssuedWhileABatchIsInFlight_ShareTheNextBatch()
    {
        var memory = new MemoryJournal();
        var gated = new GatedJournal(memory);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.WriteAsync(Write("opener", 1, 1));
        await gated.FirstBatchEntered.WaitAsync(Deadline);

        var writes = Enumerable.Range(0, 50).Select(i => batching.WriteAsync(Write($"p{i}", 1, 1))).ToArray();
        gated.Release();
        await Task.WhenAll([opener, .. writes]).WaitAsync(Deadline);

        Assert.Equal([1, 50], gated.BatchSizes);
        Assert.Equal(1, memory.SuccessfulBatches.Count(size => size == 50));
        Assert.Equal((2L, 51L, 51L), (batching.RoundTrips, batching.Writes, batching.Events));
    }

    [Fact]
    public async Task WriteAsync_MoreWaitingThanMaxBatchSize_SplitsIntoBoundedBatches()
    {
        var gated = new GatedJournal(new MemoryJournal());
        await using var batching = new BatchingJournal(gated, maxBatchSize: 4);
        var opener = batching.WriteAsync(Write("opener", 1, 1));
        await gated.FirstBatchEntered.WaitAsync(Deadline);

        var writes = Enumerable.Range(0, 10).Select(i => batching.WriteAsync(Write($"p{i}", 1, 1))).ToArray();
        gated.Release();
        await Task.WhenAll([opener, .. writes]).WaitAsync(Deadline);

        Assert.Equal([1, 4, 4, 2], gated.BatchSizes);
    }

    [Fact]
    public async Task WriteAsync_FailedBatch_RetriesEachWriteAloneAndFailsOnlyTheCulprit()
    {
        var memory = new MemoryJournal { Poisoned = "poison" };
        var gated = new GatedJournal(memory);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.WriteAsync(Write("opener", 1, 1));
        await gated.FirstBatchEntered.WaitAsync(Deadline);

        var before = batching.WriteAsync(Write("before", 1, 1));
        var poisoned = batching.WriteAsync(Write("poison", 1, 1));
        var after = batching.WriteAsync(Write("after", 1, 1));
        gated.Release();

        await Task.WhenAll(opener, before, after).WaitAsync(Deadline);
        await Assert.ThrowsAsync<JournalRejectionException>(() => poisoned.WaitAsync(Deadline));
        Assert.Equal(["opener", "before", "after"], memory.Stored);

        // The opener, the failed batch, then each of its three writes alone; only stored writes count.
        Assert.Equal((5L, 3L, 3L), (batching.RoundTrips, batching.Writes, batching.Events));
    }

    [Fact]
    public async Task WriteAsync_CancelledBeforeJoiningABatch_IsNotWritten()
    {
        var memory = new MemoryJournal();
        var gated = new GatedJournal(memory);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.WriteAsync(Write("opener", 1, 1));
        await gated.FirstBatchEntered.WaitAsync(Deadline);

        using var cancellation = new CancellationTokenSource();
        var withdrawn = batching.WriteAsync(Write("withdrawn", 1, 1), cancellation.Token);
        var kept = batching.WriteAsync(Write("kept", 1, 1));
        await cancellation.CancelAsync();
        gated.Release();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn.WaitAsync(Deadline));
        await Task.WhenAll(opener, kept).WaitAsync(Deadline);
        Assert.Equal(["opener", "kept"], memory.Stored);
    }

    [Fact]
    public async Task DisposeAsync_WithWritesWaiting_CompletesThemAndRefusesNewOnes()
    {
        var memory = new MemoryJournal();
        var gated = new GatedJournal(memory);
        var batching = new BatchingJournal(gated);
        var opener = batching.WriteAsync(Write("opener", 1, 1));
        await gated.FirstBatchEntered.WaitAsync(Deadline);
        var waiting = batching.WriteAsync(Write("waiting", 1, 1));

        var disposing = batching.DisposeAsync().AsTask();
        Assert.Throws<ObjectDisposedException>(() => { _ = batching.WriteAsync(Write("late", 1, 1)); });
        gated.Release();
        await disposing.WaitAsync(Deadline);

        Assert.True(opener.IsCompletedSuccessfully);
        Assert.True(waiting.IsCompletedSuccessfully);
        Assert.Equal(["opener", "waiting"], memory.Stored);
    }

    /// <summary>Stores persistence ids in order; a batch holding the poisoned id fails whole.</summary>
    private sealed class MemoryJournal : IJournal
    {
        private readonly ConcurrentQueue<string> _stored = new();

        public string? Poisoned { get; init; }

        public IEnumerable<string> Stored => _stored;

        public ConcurrentQueue<int> SuccessfulBatches { get; } = new();

        public Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
        {
            if (writes.Any(w => w.PersistenceId == Poisoned))
            {
                return Task.FromException(new JournalRejectionException($"'{Poisoned}' is poisoned."));
            }

            foreach (var write in writes)
            {
                _stored.Enqueue(write.PersistenceId);
            }

            SuccessfulBatches.Enqueue(writes.Count);
            return Task.CompletedTask;
        }

        public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default) =>
            AsyncEnumerable.Empty<PersistentRepresentation>();

        public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default) => Task.FromResult(0L);

        public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
