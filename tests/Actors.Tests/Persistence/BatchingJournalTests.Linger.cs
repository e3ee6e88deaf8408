using BgFetchCluster.Actors.Persistence;
using Microsoft.Extensions.Time.Testing;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// The linger: a busy journal holds a batch a new writer opened so that others join it, and never holds a writer that
/// only comes back from the previous batch. The clock is fake, so a held batch waits until the test moves time on.
/// </summary>
public sealed partial class BatchingJournalTests
{
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(2);

    [Fact]
    public async Task WriteAsync_ANewWriterWhileTheJournalIsBusy_IsHeldForTheLinger_AndOthersJoinItsBatch()
    {
        var time = new TimerSignallingTimeProvider();
        var gated = new GatedJournal(new MemoryJournal());
        gated.Release();
        await using var batching = new BatchingJournal(gated, linger: Linger, timeProvider: time);
        await batching.WriteAsync(Write("a", 1, 1)).WaitAsync(Deadline);

        // No time has passed since "a"'s batch: the journal is busy, and "b" was not in that batch.
        var b = batching.WriteAsync(Write("b", 1, 1));
        await time.TimerCreated.WaitAsync(Deadline);
        Assert.False(b.IsCompleted);
        var c = batching.WriteAsync(Write("c", 1, 1));
        time.Advance(Linger);
        await Task.WhenAll(b, c).WaitAsync(Deadline);

        Assert.Equal([1, 2], gated.BatchSizes);
    }

    [Fact]
    public async Task WriteAsync_AWriterComingBackFromThePreviousBatch_IsNotHeld()
    {
        var time = new FakeTimeProvider();
        var gated = new GatedJournal(new MemoryJournal());
        gated.Release();
        await using var batching = new BatchingJournal(gated, linger: Linger, timeProvider: time);

        // A persistent actor's events one after another, each once the last is stored: with the fake clock standing
        // still, a held batch would never be written.
        for (var sequenceNr = 1; sequenceNr <= 5; sequenceNr++)
        {
            await batching.WriteAsync(Write("lone", sequenceNr, sequenceNr)).WaitAsync(Deadline);
        }

        Assert.Equal([1, 1, 1, 1, 1], gated.BatchSizes);
    }

    [Fact]
    public async Task WriteAsync_ANewWriterAfterTheJournalWasIdleForALinger_IsNotHeld()
    {
        var time = new FakeTimeProvider();
        var gated = new GatedJournal(new MemoryJournal());
        gated.Release();
        await using var batching = new BatchingJournal(gated, linger: Linger, timeProvider: time);
        await batching.WriteAsync(Write("a", 1, 1)).WaitAsync(Deadline);

        time.Advance(Linger);
        await batching.WriteAsync(Write("b", 1, 1)).WaitAsync(Deadline);

        Assert.Equal([1, 1], gated.BatchSizes);
    }

    [Fact]
    public async Task WriteAsync_WithoutALinger_ANewWriterWhileBusy_IsNotHeld()
    {
        var time = new FakeTimeProvider();
        var gated = new GatedJournal(new MemoryJournal());
        gated.Release();
        await using var batching = new BatchingJournal(gated, timeProvider: time);
        await batching.WriteAsync(Write("a", 1, 1)).WaitAsync(Deadline);

        await batching.WriteAsync(Write("b", 1, 1)).WaitAsync(Deadline);

        Assert.Equal([1, 1], gated.BatchSizes);
    }

    /// <summary>A fake clock that says when the journal starts its first timer: the linger has begun.</summary>
    private sealed class TimerSignallingTimeProvider : FakeTimeProvider
    {
        private readonly TaskCompletionSource _timerCreated = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task TimerCreated => _timerCreated.Task;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _timerCreated.TrySetResult();
            return timer;
        }
    }
}
