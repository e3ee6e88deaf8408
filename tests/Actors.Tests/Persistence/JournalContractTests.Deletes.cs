using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>DeleteMessagesTo: deleted events vanish from replay, the highest sequence number stays.</summary>
public abstract partial class JournalContractTests
{
    [Fact]
    public async Task DeleteMessagesToAsync_Partial_ReplaysOnlyTheRest()
    {
        var persistenceId = await WriteFiveAsync();

        await Journal.DeleteMessagesToAsync(persistenceId, 3);

        Assert.Equal(new long[] { 4, 5 }, await Journal.ReplaySequenceNrsAsync(persistenceId));
        Assert.Equal(5, await Journal.ReadHighestSequenceNrAsync(persistenceId));
    }

    [Fact]
    public async Task DeleteMessagesToAsync_All_ReplaysNothingAndKeepsTheHighestSequenceNr()
    {
        var persistenceId = await WriteFiveAsync();

        await Journal.DeleteMessagesToAsync(persistenceId, 5);

        Assert.Empty(await Journal.ReplaySequenceNrsAsync(persistenceId));
        Assert.Equal(5, await Journal.ReadHighestSequenceNrAsync(persistenceId));
    }

    [Fact]
    public async Task DeleteMessagesToAsync_BeyondTheHighest_KeepsTheHighestSequenceNr()
    {
        var persistenceId = await WriteFiveAsync();

        await Journal.DeleteMessagesToAsync(persistenceId, long.MaxValue);

        Assert.Empty(await Journal.ReplaySequenceNrsAsync(persistenceId));
        Assert.Equal(5, await Journal.ReadHighestSequenceNrAsync(persistenceId));
    }

    [Fact]
    public async Task DeleteMessagesToAsync_All_NextWriteAtHighestPlusOneSucceeds()
    {
        var persistenceId = await WriteFiveAsync();
        await Journal.DeleteMessagesToAsync(persistenceId, 5);

        await Journal.WriteAsync([Write(persistenceId, 6, 6)]);

        Assert.Equal(new long[] { 6 }, await Journal.ReplaySequenceNrsAsync(persistenceId));
        Assert.Equal(6, await Journal.ReadHighestSequenceNrAsync(persistenceId));
    }

    [Fact]
    public async Task DeleteMessagesToAsync_All_WriteAtTheDeletedHighestSequenceNrFails()
    {
        var persistenceId = await WriteFiveAsync();
        await Journal.DeleteMessagesToAsync(persistenceId, 5);

        var refused = await Assert.ThrowsAsync<JournalConcurrencyException>(
            () => Journal.WriteAsync([Write(persistenceId, 5, 5)]));

        Assert.Equal(persistenceId, refused.PersistenceId);
        Assert.Empty(await Journal.ReplaySequenceNrsAsync(persistenceId));
    }

    [Fact]
    public async Task DeleteMessagesToAsync_UnknownPersistenceId_DoesNothing()
    {
        var persistenceId = NewPersistenceId("unknown");

        await Journal.DeleteMessagesToAsync(persistenceId, 10);

        Assert.Equal(0, await Journal.ReadHighestSequenceNrAsync(persistenceId));
        await Journal.WriteAsync([Write(persistenceId, 1, 1)]);
        Assert.Equal(new long[] { 1 }, await Journal.ReplaySequenceNrsAsync(persistenceId));
    }
}
