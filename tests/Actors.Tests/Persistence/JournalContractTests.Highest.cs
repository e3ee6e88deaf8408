using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>The highest sequence numbers of many entities in one query, alone and batched by BatchingJournal.</summary>
public abstract partial class JournalContractTests
{
    [Fact]
    public async Task ReadHighestSequenceNrsAsync_KnownUnknownDeletedAndRepeatedIds_AnswersEachInOrder()
    {
        var five = await WriteFiveAsync();
        var deleted = await WriteFiveAsync();
        await Journal.WriteAsync([Write(deleted, 6, 7)]);
        await Journal.DeleteMessagesToAsync(deleted, long.MaxValue);
        var one = NewPersistenceId("one");
        await Journal.WriteAsync([Write(one, 1, 1)]);
        var unknown = NewPersistenceId("unknown");

        var highest = await Journal.ReadHighestSequenceNrsAsync([unknown, five, deleted, one, five]);

        Assert.Equal(new long[] { 0, 5, 7, 1, 5 }, highest);
    }

    [Fact]
    public async Task ReadHighestSequenceNrsAsync_NoIds_AnswersNothing()
    {
        Assert.Empty(await Journal.ReadHighestSequenceNrsAsync([]));
    }

    [Fact]
    public async Task ReadHighestSequenceNrsAsync_IdsWithQuotesAndUnicode_AreMatchedExactly()
    {
        var odd = $"o'dd \"id\" [1], é\u00a0\\n {Guid.NewGuid():N}";
        await Journal.WriteAsync([Write(odd, 1, 3)]);

        Assert.Equal(new long[] { 3, 0 }, await Journal.ReadHighestSequenceNrsAsync([odd, odd.ToUpperInvariant()]));
    }

    [Fact]
    public async Task BatchingJournal_ManyConcurrentReads_ShareOneQueryAndEachGetsItsOwnNumber()
    {
        var deleted = await WriteFiveAsync();
        await Journal.DeleteMessagesToAsync(deleted, 5);
        var written = Enumerable.Range(1, 150).Select(i => (Id: NewPersistenceId($"r{i}"), Highest: (long)(i % 7) + 1)).ToList();
        foreach (var (id, highest) in written)
        {
            await Journal.WriteAsync([Write(id, 1, highest)]);
        }

        var expected = written
            .Concat(Enumerable.Range(0, 50).Select(i => (Id: NewPersistenceId($"new{i}"), Highest: 0L)))
            .Append((Id: deleted, Highest: 5L))
            .ToList();
        var gated = new GatedJournal(Journal);
        await using var batching = new BatchingJournal(gated);
        var opener = batching.ReadHighestSequenceNrAsync(deleted);
        await gated.FirstReadBatchEntered.WaitAsync(Deadline);

        var reads = expected.Select(e => batching.ReadHighestSequenceNrAsync(e.Id)).ToArray();
        gated.Release();
        var answers = await Task.WhenAll(reads).WaitAsync(Deadline);

        Assert.Equal(5, await opener.WaitAsync(Deadline));
        Assert.Equal(expected.Select(e => e.Highest), answers);
        Assert.Equal([1, 201], gated.ReadBatchSizes);
        Assert.Equal((2L, 202L), (batching.ReadRoundTrips, batching.Reads));
    }

    [Fact]
    public async Task BatchingJournal_ReadAfterItsWriteCompleted_CountsThatWrite()
    {
        var persistenceId = await WriteFiveAsync();
        await using var batching = new BatchingJournal(Journal);

        await batching.WriteAsync(Write(persistenceId, 6, 8));

        Assert.Equal(8, await batching.ReadHighestSequenceNrAsync(persistenceId));
    }
}
