using System.Collections.Concurrent;
using BgFetchCluster.Actors.Persistence;
using Microsoft.Data.Sqlite;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>BatchingJournal's own rules for writes and reads, over an in-memory journal that can be told to fail.</summary>
public sealed partial class BatchingJournalTests
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

    [Fact]
    public async Task ReadHighestSequenceNrAsync_MoreWaitingThanMaxReadBatchSize_SplitsIntoBoundedQueries()
    {
        var memory = new MemoryJournal();
        await memory.WriteAsync([Write("p3", 1, 3)]);
        var gated = new GatedJournal(memory);
        await using var batching = new BatchingJournal(gated, maxReadBatchSize: 4);
        var opener = batching.ReadHighestSequenceNrAsync("opener");
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);

        var reads = Enumerable.Range(0, 10).Select(i => batching.ReadHighestSequenceNrAsync($"p{i}")).ToArray();
        gated.Release();
        var answers = await Task.WhenAll(reads).WaitAsync(Deadline);

        Assert.Equal(0, await opener.WaitAsync(Deadline));
        Assert.Equal([0, 0, 0, 3, 0, 0, 0, 0, 0, 0], answers);
        Assert.Equal([1, 4, 4, 2], gated.ReadBatchSizes);
        Assert.Equal((4L, 11L), (batching.ReadRoundTrips, batching.Reads));
    }

    [Fact]
    public async Task ReadHighestSequenceNrAsync_CancelledWhileWaiting_IsLeftOutOfTheQuery()
    {
        var memory = new MemoryJournal();
        var gated = new GatedJournal(memory);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.ReadHighestSequenceNrAsync("opener");
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);

        using var cancellation = new CancellationTokenSource();
        var withdrawn = batching.ReadHighestSequenceNrAsync("withdrawn", cancellation.Token);
        var kept = batching.ReadHighestSequenceNrAsync("kept");
        await cancellation.CancelAsync();

        // A read changes nothing: its caller is let go at once, without waiting for the query in flight.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn.WaitAsync(Deadline));
        gated.Release();
        await Task.WhenAll(opener, kept).WaitAsync(Deadline);
        Assert.Equal([["opener"], ["kept"]], memory.ReadBatches);
    }

    [Fact]
    public async Task ReadHighestSequenceNrAsync_CancelledWhileItsQueryIsInFlight_CompletesCancelledAndSparesTheOthers()
    {
        var gated = new GatedJournal(new MemoryJournal());
        await using var batching = new BatchingJournal(gated);
        using var cancellation = new CancellationTokenSource();
        var opener = batching.ReadHighestSequenceNrAsync("opener", cancellation.Token);
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => opener.WaitAsync(Deadline));
        var next = batching.ReadHighestSequenceNrAsync("next");
        gated.Release();
        Assert.Equal(0, await next.WaitAsync(Deadline));
    }

    [Fact]
    public async Task ReadHighestSequenceNrAsync_FailedQuery_FailsEveryReadOfThatBatchOnly()
    {
        var memory = new MemoryJournal { Poisoned = "poison" };
        var gated = new GatedJournal(memory);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.ReadHighestSequenceNrAsync("opener");
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);

        var failed = new[] { "a", "poison", "b" }.Select(id => batching.ReadHighestSequenceNrAsync(id)).ToArray();
        gated.Release();

        Assert.Equal(0, await opener.WaitAsync(Deadline));
        foreach (var read in failed)
        {
            var error = await Assert.ThrowsAsync<JournalRejectionException>(() => read.WaitAsync(Deadline));
            Assert.Same(memory.ReadError, error);
        }

        Assert.Equal(0, await batching.ReadHighestSequenceNrAsync("after").WaitAsync(Deadline));
        Assert.Equal((3L, 2L), (batching.ReadRoundTrips, batching.Reads));
    }

    [Fact]
    public async Task ReadHighestSequenceNrAsync_TransientErrorsBehindResilientJournal_RetriesTheBatchedQuery()
    {
        var memory = new MemoryJournal { Flaky = "p", TransientReadFailures = 2 };
        await memory.WriteAsync([Write("p", 1, 4)]);
        var gated = new GatedJournal(new ResilientJournal(memory, new StoreResilience("journal", TimeSpan.FromMinutes(1))));
        await using var batching = new BatchingJournal(gated);
        var opener = batching.ReadHighestSequenceNrAsync("opener");
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);

        var reads = new[] { "p", "q" }.Select(id => batching.ReadHighestSequenceNrAsync(id)).ToArray();
        gated.Release();

        Assert.Equal(0, await opener.WaitAsync(Deadline));
        Assert.Equal(new long[] { 4, 0 }, await Task.WhenAll(reads).WaitAsync(Deadline));
        Assert.Equal(0, memory.TransientReadFailures);
        Assert.Equal([["opener"], ["p", "q"]], memory.ReadBatches);
        Assert.Equal(2L, batching.ReadRoundTrips);
    }

    [Fact]
    public async Task DisposeAsync_WithReadsWaiting_AnswersThemAndRefusesNewOnes()
    {
        var gated = new GatedJournal(new MemoryJournal());
        var batching = new BatchingJournal(gated);
        var opener = batching.ReadHighestSequenceNrAsync("opener");
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);
        var waiting = batching.ReadHighestSequenceNrAsync("waiting");

        var disposing = batching.DisposeAsync().AsTask();
        Assert.Throws<ObjectDisposedException>(() => { _ = batching.ReadHighestSequenceNrAsync("late"); });
        gated.Release();
        await disposing.WaitAsync(Deadline);

        Assert.True(opener.IsCompletedSuccessfully);
        Assert.True(waiting.IsCompletedSuccessfully);
    }

    /// <summary>Stores persistence ids in order; a batch holding the poisoned id fails whole.</summary>
    private sealed class MemoryJournal : IJournal
    {
        private readonly ConcurrentQueue<string> _stored = new();
        private readonly ConcurrentDictionary<string, long> _highest = new();
        private int _transientReadFailures;

        public string? Poisoned { get; init; }

        /// <summary>The id whose batched reads fail transiently, <see cref="TransientReadFailures"/> times.</summary>
        public string? Flaky { get; init; }

        /// <summary>How many batched reads holding <see cref="Flaky"/> still fail as a locked database would (a transient error).</summary>
        public int TransientReadFailures
        {
            get => Volatile.Read(ref _transientReadFailures);
            init => _transientReadFailures = value;
        }

        /// <summary>The one error a batched read holding the poisoned id fails with.</summary>
        public JournalRejectionException ReadError { get; } = new("A read of the poisoned id fails.");

        public IEnumerable<string> Stored => _stored;

        public ConcurrentQueue<string[]> ReadBatches { get; } = new();

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
                _highest[write.PersistenceId] = write.Events[^1].SequenceNr;
            }

            SuccessfulBatches.Enqueue(writes.Count);
            return Task.CompletedTask;
        }

        public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default) =>
            AsyncEnumerable.Empty<PersistentRepresentation>();

        public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default) =>
            Task.FromResult(_highest.GetValueOrDefault(persistenceId));

        public Task<IReadOnlyList<long>> ReadHighestSequenceNrsAsync(IReadOnlyList<string> persistenceIds, CancellationToken cancellationToken = default)
        {
            if (persistenceIds.Contains(Flaky) && TransientReadFailures > 0)
            {
                Interlocked.Decrement(ref _transientReadFailures);
                return Task.FromException<IReadOnlyList<long>>(new SqliteException("database is locked", 5));
            }

            ReadBatches.Enqueue([.. persistenceIds]);
            return persistenceIds.Contains(Poisoned)
                ? Task.FromException<IReadOnlyList<long>>(ReadError)
                : Task.FromResult<IReadOnlyList<long>>([.. persistenceIds.Select(id => _highest.GetValueOrDefault(id))]);
        }

        public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
