using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>Writes: the unique key fences forks, atomic writes are all or nothing, ordering grows.</summary>
public abstract partial class JournalContractTests
{
    [Fact]
    public async Task WriteAsync_TakenSequenceNr_ThrowsJournalConcurrencyException()
    {
        var persistenceId = await WriteFiveAsync();

        var refused = await Assert.ThrowsAsync<JournalConcurrencyException>(
            () => Journal.WriteAsync([Write(persistenceId, 5, 6)]));

        Assert.Equal(persistenceId, refused.PersistenceId);
        Assert.Equal(5, refused.SequenceNr);
        Assert.Equal(5, await Journal.ReadHighestSequenceNrAsync(persistenceId));
    }

    [Fact]
    public async Task WriteAsync_ThirdEventOfAnAtomicWriteCollides_StoresNoneOfThem()
    {
        var persistenceId = NewPersistenceId("atomic");
        await Journal.WriteAsync([Write(persistenceId, 3, 3)]);

        await Assert.ThrowsAsync<JournalConcurrencyException>(() => Journal.WriteAsync([Write(persistenceId, 1, 4)]));

        Assert.Equal(new long[] { 3 }, await Journal.ReplaySequenceNrsAsync(persistenceId));
    }

    [Fact]
    public async Task WriteAsync_OneWriteOfABatchCollides_StoresNoneOfTheBatch()
    {
        var taken = await WriteFiveAsync();
        var innocent = NewPersistenceId("innocent");

        await Assert.ThrowsAsync<JournalConcurrencyException>(
            () => Journal.WriteAsync([Write(innocent, 1, 2), Write(taken, 5, 5)]));

        Assert.Empty(await Journal.ReplaySequenceNrsAsync(innocent));
    }

    [Fact]
    public async Task WriteAsync_TwoNodesWriteTheSameSequenceNrs_ExactlyOneWins()
    {
        var persistenceId = NewPersistenceId("contested");
        var nodes = new[] { Journal, await CreateTrackedJournalAsync() };
        var writers = new[] { Guid.NewGuid(), Guid.NewGuid() };
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var attempts = Enumerable.Range(0, 2).Select(i => Task.Run(async () =>
        {
            await start.Task;
            await nodes[i].WriteAsync([Write(persistenceId, 1, 2, writers[i])]);
        })).ToArray();
        start.SetResult();
        var outcomes = await Task.WhenAll(attempts.Select(Outcome.OfAsync));

        Assert.Single(outcomes, o => o.Succeeded);
        Assert.IsType<JournalConcurrencyException>(Assert.Single(outcomes, o => !o.Succeeded).Error);
        var winner = writers[Array.FindIndex(outcomes, o => o.Succeeded)];
        var stored = await Journal.ReplayAsync(persistenceId, 1, long.MaxValue, long.MaxValue).ToListAsync();
        Assert.Equal(new long[] { 1, 2 }, stored.Select(e => e.SequenceNr));
        Assert.All(stored, e => Assert.Equal(winner.ToString("D"), e.WriterUuid));
    }

    [Fact]
    public async Task WriteAsync_SuccessiveWrites_GetIncreasingGlobalOrdering()
    {
        var a = NewPersistenceId("a");
        var b = NewPersistenceId("b");
        var c = NewPersistenceId("c");
        await Journal.WriteAsync([Write(a, 1, 1)]);
        await Journal.WriteAsync([Write(b, 1, 1)]);
        await Journal.WriteAsync([Write(a, 2, 2)]);
        await Journal.WriteAsync([Write(c, 1, 2), Write(b, 2, 2)]);

        long[] orderings =
        [
            await ReadOrderingAsync(a, 1), await ReadOrderingAsync(b, 1), await ReadOrderingAsync(a, 2),
            await ReadOrderingAsync(c, 1), await ReadOrderingAsync(c, 2), await ReadOrderingAsync(b, 2),
        ];

        Assert.Equal(orderings.Order(), orderings);
        Assert.Equal(orderings.Length, orderings.Distinct().Count());
    }

    [Fact]
    public async Task BatchingJournal_OneConflictInASharedBatch_FailsOnlyThatWrite()
    {
        var taken = await WriteFiveAsync();
        var gated = new GatedJournal(Journal);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.WriteAsync(Write(NewPersistenceId("opener"), 1, 1));
        await gated.FirstBatchEntered.WaitAsync(Deadline);

        var innocents = Enumerable.Range(0, 20).Select(i => NewPersistenceId($"innocent{i}")).ToArray();
        var innocentWrites = innocents.Take(10).Select(id => batching.WriteAsync(Write(id, 1, 2))).ToList();
        var conflicting = batching.WriteAsync(Write(taken, 5, 6));
        innocentWrites.AddRange(innocents.Skip(10).Select(id => batching.WriteAsync(Write(id, 1, 2))));
        gated.Release();

        await opener.WaitAsync(Deadline);
        var refused = await Assert.ThrowsAsync<JournalConcurrencyException>(() => conflicting.WaitAsync(Deadline));
        await Task.WhenAll(innocentWrites).WaitAsync(Deadline);

        Assert.Equal(taken, refused.PersistenceId);
        Assert.Equal(21, gated.BatchSizes.ElementAt(1));
        foreach (var id in innocents)
        {
            Assert.Equal(new long[] { 1, 2 }, await Journal.ReplaySequenceNrsAsync(id));
        }

        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, await Journal.ReplaySequenceNrsAsync(taken));
    }

    [Fact]
    public async Task BatchingJournal_ManyConcurrentCallersAndOneConflict_FailsExactlyTheConflictingCaller()
    {
        var taken = await WriteFiveAsync();
        await using var batching = new BatchingJournal(Journal);
        var ids = Enumerable.Range(0, 100).Select(i => NewPersistenceId($"caller{i}")).ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var callers = ids.Select(id => Task.Run(async () =>
        {
            await start.Task;
            await batching.WriteAsync(Write(id, 1, 3));
        })).ToList();
        var conflicting = Task.Run(async () =>
        {
            await start.Task;
            await batching.WriteAsync(Write(taken, 4, 6));
        });
        start.SetResult();

        await Task.WhenAll(callers).WaitAsync(Deadline);
        await Assert.ThrowsAsync<JournalConcurrencyException>(() => conflicting.WaitAsync(Deadline));
        foreach (var id in ids)
        {
            Assert.Equal(3, await batching.ReadHighestSequenceNrAsync(id));
        }

        Assert.Equal(5, await batching.ReadHighestSequenceNrAsync(taken));
    }

    /// <summary>A task's outcome as a value, so concurrent attempts can be counted.</summary>
    private sealed record Outcome(Exception? Error)
    {
        public bool Succeeded => Error is null;

        public static async Task<Outcome> OfAsync(Task task)
        {
            try
            {
                await task;
                return new Outcome((Exception?)null);
            }
            catch (Exception exception)
            {
                return new Outcome(exception);
            }
        }
    }
}
