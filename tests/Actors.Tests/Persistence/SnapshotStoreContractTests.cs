using System.Text;
using BgFetchCluster.Actors.Persistence;
using static BgFetchCluster.Actors.Tests.Persistence.JournalData;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>The snapshot behaviours of Akka's Persistence TCK, run against each store by a subclass.</summary>
public abstract class SnapshotStoreContractTests : IAsyncLifetime
{
    private const string Manifest = "test.snapshot.v1";

    private const int SerializerId = 4712;

    private readonly string _persistenceId = NewPersistenceId("snap");

    protected ISnapshotStore Store { get; private set; } = null!;

    /// <summary>A new, initialized snapshot store over the test class's database.</summary>
    protected abstract Task<ISnapshotStore> CreateStoreAsync();

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public async Task DisposeAsync() => await Store.DisposeAsync();

    private static DateTimeOffset At(long sequenceNr) => Created.AddMinutes(sequenceNr);

    private static byte[] Payload(long sequenceNr) => Encoding.UTF8.GetBytes($"{{\"state\":{sequenceNr}}}");

    /// <summary>Saves snapshots at sequence numbers 10, 20, 30 and 40, each a minute apart.</summary>
    private async Task SaveFourAsync()
    {
        foreach (var sequenceNr in new long[] { 10, 20, 30, 40 })
        {
            await Store.SaveAsync(new SnapshotMetadata(_persistenceId, sequenceNr, At(sequenceNr)), SerializerId, Manifest, Payload(sequenceNr));
        }
    }

    private async Task<long?> LoadSequenceNrAsync(SnapshotSelectionCriteria criteria) =>
        (await Store.LoadAsync(_persistenceId, criteria))?.Metadata.SequenceNr;

    [Fact]
    public async Task LoadAsync_NoSnapshot_ReturnsNull()
    {
        Assert.Null(await Store.LoadAsync(_persistenceId, SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public async Task LoadAsync_Latest_ReturnsTheNewestWithEveryField()
    {
        await SaveFourAsync();

        var loaded = await Store.LoadAsync(_persistenceId, SnapshotSelectionCriteria.Latest);

        Assert.NotNull(loaded);
        Assert.Equal(new SnapshotMetadata(_persistenceId, 40, At(40)), loaded.Metadata);
        Assert.Equal(SerializerId, loaded.SerializerId);
        Assert.Equal(Manifest, loaded.Manifest);
        Assert.Equal(Payload(40), loaded.Payload.ToArray());
    }

    [Fact]
    public async Task LoadAsync_MaxSequenceNr_ReturnsTheNewestAtOrBelowIt()
    {
        await SaveFourAsync();

        Assert.Equal(30, await LoadSequenceNrAsync(new(MaxSequenceNr: 30)));
        Assert.Equal(20, await LoadSequenceNrAsync(new(MaxSequenceNr: 29)));
        Assert.Null(await LoadSequenceNrAsync(new(MaxSequenceNr: 9)));
    }

    [Fact]
    public async Task LoadAsync_MaxTimestamp_ReturnsTheNewestAtOrBeforeIt()
    {
        await SaveFourAsync();

        Assert.Equal(20, await LoadSequenceNrAsync(new(MaxTimestamp: At(20))));
        Assert.Equal(20, await LoadSequenceNrAsync(new(MaxTimestamp: At(30).AddMilliseconds(-1))));
        Assert.Null(await LoadSequenceNrAsync(new(MaxTimestamp: At(10).AddMilliseconds(-1))));
    }

    [Fact]
    public async Task LoadAsync_SequenceAndTimestampBounds_AppliesBoth()
    {
        await SaveFourAsync();

        Assert.Equal(20, await LoadSequenceNrAsync(new(MaxSequenceNr: 30, MaxTimestamp: At(20))));
        Assert.Equal(20, await LoadSequenceNrAsync(new(MaxSequenceNr: 20, MaxTimestamp: At(40))));
        Assert.Null(await LoadSequenceNrAsync(new(MaxSequenceNr: 40, MinSequenceNr: 35, MaxTimestamp: At(30))));
    }

    [Fact]
    public async Task LoadAsync_MinTimestamp_IgnoresOlderSnapshots()
    {
        await SaveFourAsync();

        Assert.Equal(40, await LoadSequenceNrAsync(new(MinTimestamp: At(30))));
        Assert.Equal(30, await LoadSequenceNrAsync(new(MaxSequenceNr: 39, MinTimestamp: At(30))));
        Assert.Null(await LoadSequenceNrAsync(new(MaxSequenceNr: 29, MinTimestamp: At(30))));
    }

    [Fact]
    public async Task LoadAsync_CriteriaNone_ReturnsNull()
    {
        await SaveFourAsync();

        Assert.Null(await Store.LoadAsync(_persistenceId, SnapshotSelectionCriteria.None));
    }

    [Fact]
    public async Task LoadAsync_OtherPersistenceId_ReturnsNull()
    {
        await SaveFourAsync();

        Assert.Null(await Store.LoadAsync(NewPersistenceId("other"), SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public async Task SaveAsync_SameSequenceNr_ReplacesTheSnapshot()
    {
        await SaveFourAsync();

        await Store.SaveAsync(new SnapshotMetadata(_persistenceId, 40, At(41)), SerializerId + 1, "test.snapshot.v2", Payload(41));

        var loaded = await Store.LoadAsync(_persistenceId, SnapshotSelectionCriteria.Latest);
        Assert.NotNull(loaded);
        Assert.Equal(new SnapshotMetadata(_persistenceId, 40, At(41)), loaded.Metadata);
        Assert.Equal(SerializerId + 1, loaded.SerializerId);
        Assert.Equal("test.snapshot.v2", loaded.Manifest);
        Assert.Equal(Payload(41), loaded.Payload.ToArray());
    }

    [Fact]
    public async Task DeleteAsync_Metadata_DeletesOnlyThatSnapshot()
    {
        await SaveFourAsync();

        await Store.DeleteAsync(new SnapshotMetadata(_persistenceId, 40, At(40)));

        Assert.Equal(30, await LoadSequenceNrAsync(SnapshotSelectionCriteria.Latest));
        Assert.Equal(20, await LoadSequenceNrAsync(new(MaxSequenceNr: 20)));
    }

    [Fact]
    public async Task DeleteAsync_Criteria_DeletesEveryMatchingSnapshot()
    {
        await SaveFourAsync();

        await Store.DeleteAsync(_persistenceId, new SnapshotSelectionCriteria(MaxSequenceNr: 30, MinSequenceNr: 20));

        Assert.Equal(40, await LoadSequenceNrAsync(SnapshotSelectionCriteria.Latest));
        Assert.Equal(10, await LoadSequenceNrAsync(new(MaxSequenceNr: 39)));
    }

    [Fact]
    public async Task DeleteAsync_CriteriaByTimestamp_DeletesOnlyOlderSnapshots()
    {
        await SaveFourAsync();

        await Store.DeleteAsync(_persistenceId, new SnapshotSelectionCriteria(MaxTimestamp: At(20)));

        Assert.Equal(30, await LoadSequenceNrAsync(new(MaxSequenceNr: 39)));
        Assert.Null(await LoadSequenceNrAsync(new(MaxSequenceNr: 29)));
    }
}
