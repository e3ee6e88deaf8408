using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// The behaviours of Akka's Persistence TCK that every <see cref="IJournal"/> must show, run against
/// each store by a subclass. Each test uses fresh persistence ids, so tests of a class share tables.
/// </summary>
public abstract partial class JournalContractTests : IAsyncLifetime
{
    private readonly List<IJournal> _journals = [];

    protected IJournal Journal { get; private set; } = null!;

    /// <summary>A new, initialized journal over the test class's database (one per simulated node).</summary>
    protected abstract Task<IJournal> CreateJournalAsync();

    /// <summary>The stored global <c>ordering</c> of one row, read straight from the table.</summary>
    protected abstract Task<long> ReadOrderingAsync(string persistenceId, long sequenceNr);

    public async Task InitializeAsync() => Journal = await CreateTrackedJournalAsync();

    public async Task DisposeAsync()
    {
        foreach (var journal in _journals)
        {
            await journal.DisposeAsync();
        }
    }

    protected async Task<IJournal> CreateTrackedJournalAsync()
    {
        var journal = await CreateJournalAsync();
        _journals.Add(journal);
        return journal;
    }

    private async Task<string> WriteFiveAsync()
    {
        var persistenceId = NewPersistenceId("five");
        await Journal.WriteAsync([Write(persistenceId, 1, 5)]);
        return persistenceId;
    }

    [Fact]
    public async Task ReplayAsync_WholeRange_ReturnsEveryEventInOrder()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, await Journal.ReplaySequenceNrsAsync(persistenceId));
    }

    [Fact]
    public async Task ReplayAsync_StoredEvent_RoundTripsEveryField()
    {
        var persistenceId = NewPersistenceId("fields");
        var writer = Guid.NewGuid();
        var written = Event(persistenceId, 1, writer);
        await Journal.WriteAsync([new AtomicWrite([written])]);

        var replayed = Assert.Single(await Journal.ReplayAsync(persistenceId, 1, 1, 1).ToListAsync());

        Assert.Equal(persistenceId, replayed.PersistenceId);
        Assert.Equal(1, replayed.SequenceNr);
        Assert.Equal(SerializerId, replayed.SerializerId);
        Assert.Equal(written.Manifest, replayed.Manifest);
        Assert.Equal(written.Payload.ToArray(), replayed.Payload.ToArray());
        Assert.Equal(writer.ToString("D"), replayed.WriterUuid);
        Assert.Equal(Created, replayed.Created);
    }

    [Fact]
    public async Task ReplayAsync_FromSequenceNr_StartsThere()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Equal(new long[] { 3, 4, 5 }, await Journal.ReplaySequenceNrsAsync(persistenceId, from: 3));
    }

    [Fact]
    public async Task ReplayAsync_ToSequenceNr_StopsThere()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Equal(new long[] { 1, 2, 3 }, await Journal.ReplaySequenceNrsAsync(persistenceId, to: 3));
    }

    [Fact]
    public async Task ReplayAsync_Max_ReturnsAtMostThatMany()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Equal(new long[] { 1, 2 }, await Journal.ReplaySequenceNrsAsync(persistenceId, max: 2));
    }

    [Fact]
    public async Task ReplayAsync_FromToAndMax_AppliesAllThreeBounds()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Equal(new long[] { 2, 3 }, await Journal.ReplaySequenceNrsAsync(persistenceId, from: 2, to: 4, max: 2));
        Assert.Equal(new long[] { 2, 3, 4 }, await Journal.ReplaySequenceNrsAsync(persistenceId, from: 2, to: 4, max: 5));
        Assert.Equal(new long[] { 3 }, await Journal.ReplaySequenceNrsAsync(persistenceId, from: 3, to: 3, max: 5));
    }

    [Fact]
    public async Task ReplayAsync_UnknownPersistenceId_ReturnsNothing()
    {
        await WriteFiveAsync();

        Assert.Empty(await Journal.ReplaySequenceNrsAsync(NewPersistenceId("unknown")));
    }

    [Fact]
    public async Task ReplayAsync_FromGreaterThanTo_ReturnsNothing()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Empty(await Journal.ReplaySequenceNrsAsync(persistenceId, from: 4, to: 3));
    }

    [Fact]
    public async Task ReplayAsync_MaxZero_ReturnsNothing()
    {
        var persistenceId = await WriteFiveAsync();

        Assert.Empty(await Journal.ReplaySequenceNrsAsync(persistenceId, max: 0));
        Assert.Empty(await Journal.ReplaySequenceNrsAsync(persistenceId, max: -1));
    }

    [Fact]
    public async Task ReadHighestSequenceNrAsync_UnknownPersistenceId_ReturnsZero()
    {
        Assert.Equal(0, await Journal.ReadHighestSequenceNrAsync(NewPersistenceId("unknown")));
    }

    [Fact]
    public async Task ReadHighestSequenceNrAsync_AfterWrites_ReturnsTheHighest()
    {
        var persistenceId = await WriteFiveAsync();
        await Journal.WriteAsync([Write(persistenceId, 6, 7)]);

        Assert.Equal(7, await Journal.ReadHighestSequenceNrAsync(persistenceId));
    }

    [Fact]
    public async Task InitializeAsync_CalledAgain_KeepsStoredEvents()
    {
        var persistenceId = await WriteFiveAsync();

        await Journal.InitializeAsync();
        var other = await CreateTrackedJournalAsync();

        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, await other.ReplaySequenceNrsAsync(persistenceId));
    }
}
