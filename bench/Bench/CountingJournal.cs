using System.Diagnostics;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Bench;

/// <summary>Passes everything to the real journal and counts batches, rows and time spent inside it.</summary>
internal sealed class CountingJournal(IJournal inner) : IJournal
{
    private long _batches;
    private long _rows;
    private long _ticks;

    public (long Batches, long Rows, TimeSpan InDatabase) Counters =>
        (Interlocked.Read(ref _batches), Interlocked.Read(ref _rows), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks)));

    public void Reset()
    {
        Interlocked.Exchange(ref _batches, 0);
        Interlocked.Exchange(ref _rows, 0);
        Interlocked.Exchange(ref _ticks, 0);
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public async Task WriteAsync(IReadOnlyList<AtomicWrite> writes, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await inner.WriteAsync(writes, cancellationToken);
        }
        finally
        {
            Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - start);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _rows, writes.Sum(w => w.Events.Count));
        }
    }

    public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default) =>
        inner.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, cancellationToken);

    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default) =>
        inner.ReadHighestSequenceNrAsync(persistenceId, cancellationToken);

    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
        inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
