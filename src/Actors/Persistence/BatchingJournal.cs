using System.Diagnostics;
using System.Threading.Channels;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// The journal persistent actors write through: concurrent single writes are gathered into one
/// batch per round trip (horizontal batching), and every caller still gets its own outcome. Reads of the
/// highest sequence number are batched the same way (<c>BatchingJournal.Reads.cs</c>).
/// </summary>
/// <remarks>
/// Invariants:
/// <list type="bullet">
/// <item>Exactly one consumer loop reads the channel, so at most one batch is in flight and writes
/// reach the inner journal in the order they were enqueued.</item>
/// <item>Every enqueued write completes exactly once: stored, failed with its own error, or cancelled
/// because its caller gave up before the write joined a batch.</item>
/// <item>A failed batch never fails a write that succeeds alone: the batch is retried write by write,
/// so one actor's conflict (or unfit event) fails only that actor.</item>
/// <item>After <see cref="DisposeAsync"/> no write is accepted, and every write accepted before it
/// is completed before DisposeAsync returns.</item>
/// </list>
/// </remarks>
public sealed partial class BatchingJournal : IAsyncDisposable
{
    /// <summary>The default upper bound of writes in one batch.</summary>
    public const int DefaultMaxBatchSize = 1000;

    /// <summary>How many times the loop yields, at most, waiting for the previous batch's writers to return.</summary>
    private const int MaxGatherYields = 8;

    private readonly IJournal _inner;
    private readonly int _maxBatchSize;
    private readonly TimeSpan _linger;
    private readonly TimeProvider _time;
    private readonly Channel<PendingWrite> _pending;
    private readonly Task _consumer;
    private long _roundTrips;
    private long _writes;
    private long _events;

    /// <summary>
    /// Starts batching writes (at most <paramref name="maxBatchSize"/> per transaction) and highest-sequence-number
    /// reads (at most <paramref name="maxReadBatchSize"/> per query) to <paramref name="inner"/>; the caller still
    /// owns (and disposes) it. With a <paramref name="linger"/>, a busy journal holds a batch that a new writer
    /// opened for that long, so that others join it (see <see cref="ShouldLinger"/>); <paramref name="timeProvider"/>
    /// is its clock.
    /// </summary>
    public BatchingJournal(
        IJournal inner,
        int maxBatchSize = DefaultMaxBatchSize,
        int maxReadBatchSize = DefaultMaxReadBatchSize,
        TimeSpan linger = default,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxReadBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(linger, TimeSpan.Zero);
        _inner = inner;
        _maxBatchSize = maxBatchSize;
        _linger = linger;
        _time = timeProvider ?? TimeProvider.System;
        _maxReadBatchSize = maxReadBatchSize;
        _pending = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions
        {
            SingleReader = true,
            SingleWriter = false,
            // Callers' continuations must never run on the consumer loop and delay the next batch.
            AllowSynchronousContinuations = false,
        });
        _consumer = Task.Run(ConsumeAsync);
        _readConsumer = Task.Run(ConsumeReadsAsync);
    }

    /// <summary>Transactions sent to the inner journal so far (a failed batch retried write by write counts each retry).</summary>
    public long RoundTrips => Volatile.Read(ref _roundTrips);

    /// <summary>Atomic writes stored so far.</summary>
    public long Writes => Volatile.Read(ref _writes);

    /// <summary>Events stored so far.</summary>
    public long Events => Volatile.Read(ref _events);

    /// <summary>
    /// Writes one atomic write, batched with whatever other writes are waiting. Completes when the
    /// write is durable; throws <see cref="JournalConcurrencyException"/> when its sequence numbers are taken.
    /// </summary>
    /// <remarks>
    /// Cancelling before the write joins a batch withdraws it; after that the write may still be stored,
    /// and the caller, like after any timeout, must treat the outcome as unknown.
    /// </remarks>
    public Task WriteAsync(AtomicWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (write.Events.Count == 0)
        {
            throw new ArgumentException("An atomic write needs at least one event.", nameof(write));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingWrite(write, cancellationToken);
        if (!_pending.Writer.TryWrite(pending))
        {
            pending.Dispose();
            throw new ObjectDisposedException(nameof(BatchingJournal));
        }

        return pending.Task;
    }

    /// <summary>Replays the entity's events; see <see cref="IJournal.ReplayAsync"/>.</summary>
    public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId,
        long fromSequenceNr,
        long toSequenceNr,
        long max,
        CancellationToken cancellationToken = default) =>
        _inner.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, cancellationToken);

    /// <summary>Deletes the entity's events; see <see cref="IJournal.DeleteMessagesToAsync"/>.</summary>
    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
        _inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);

    /// <summary>Stops accepting writes and reads, and waits until every accepted one has completed.</summary>
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        _pendingReads.Writer.TryComplete();
        await _consumer.ConfigureAwait(false);
        await _readConsumer.ConfigureAwait(false);
    }

    private async Task ConsumeAsync()
    {
        var batch = new List<PendingWrite>(Math.Min(_maxBatchSize, 64));
        var writes = new List<AtomicWrite>(batch.Capacity);
        var reader = _pending.Reader;
        var previousBatchSize = 0;
        var previousWriters = new HashSet<string>(StringComparer.Ordinal);
        long? previousFlushEnded = null;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Take everything already waiting (up to the bound) without waiting for more: a lone write
            // goes out at once, and a crowd of writes shares one round trip.
            Drain(reader, batch, writes);

            // The writers of the previous batch were acknowledged a moment ago and mostly come straight
            // back with their next write, a few thread-pool hops later. Flushing the first of them alone
            // would split every round of N writers into a batch of 1 and one of N - 1 (twice the commits).
            // So when fewer writes wait than the previous batch held, yield a few times to let them join.
            // A lone writer (previous batch of one) never waits; the target follows the load down.
            for (var yields = 0; batch.Count < previousBatchSize && batch.Count < _maxBatchSize && yields < MaxGatherYields; yields++)
            {
                await Task.Yield();
                Drain(reader, batch, writes);
            }

            if (ShouldLinger(batch, previousWriters, previousFlushEnded))
            {
                await Task.Delay(_linger, _time).ConfigureAwait(false);
                Drain(reader, batch, writes);
            }

            previousBatchSize = batch.Count;
            if (batch.Count > 0)
            {
                await FlushAsync(batch, writes).ConfigureAwait(false);
                if (_linger > TimeSpan.Zero)
                {
                    // Only the linger reads these (ShouldLinger).
                    previousFlushEnded = _time.GetTimestamp();
                    previousWriters.Clear();
                    foreach (var pending in batch)
                    {
                        previousWriters.Add(pending.Write.PersistenceId);
                    }
                }
            }

            AssertInvariants(batch);
            batch.Clear();
            writes.Clear();
        }
    }

    /// <summary>
    /// Whether to hold this batch for the linger. In a cluster each node's journal sees a third of the writes, later,
    /// so its batches stay small (bench/README.md: 1.8 writes per transaction on three nodes against 6 on one). A linger
    /// gathers them, but only where more writes are coming anyway: the journal is busy (the previous batch was flushed
    /// less than a linger ago), the batch has room, and it holds a writer that was not in the previous batch. Writes
    /// that only come back from the previous batch are a closed loop: a persistent actor sends its next event once the
    /// last one is stored, so holding them would slow a lone registration by a linger per event and gather nothing.
    /// </summary>
    private bool ShouldLinger(List<PendingWrite> batch, HashSet<string> previousWriters, long? previousFlushEnded)
    {
        if (_linger <= TimeSpan.Zero || batch.Count == 0 || batch.Count >= _maxBatchSize
            || previousFlushEnded is not { } ended || _time.GetElapsedTime(ended) >= _linger)
        {
            return false;
        }

        foreach (var pending in batch)
        {
            if (!previousWriters.Contains(pending.Write.PersistenceId))
            {
                return true;
            }
        }

        return false;
    }

    private void Drain(ChannelReader<PendingWrite> reader, List<PendingWrite> batch, List<AtomicWrite> writes)
    {
        while (batch.Count < _maxBatchSize && reader.TryRead(out var pending))
        {
            if (pending.TryJoinBatch())
            {
                batch.Add(pending);
                writes.Add(pending.Write);
            }
        }
    }

    private async Task FlushAsync(List<PendingWrite> batch, List<AtomicWrite> writes)
    {
        try
        {
            // The inner writes get no caller's token: a batch serves many callers and is never
            // abandoned halfway for one of them.
            Volatile.Write(ref _roundTrips, _roundTrips + 1);
            await _inner.WriteAsync(writes, CancellationToken.None).ConfigureAwait(false);
            foreach (var pending in batch)
            {
                Counted(pending.Write);
                pending.Succeed();
            }

            return;
        }
        catch (Exception exception) when (batch.Count == 1 || StoreErrors.IsUnavailable(exception))
        {
            // One write, or a store that is away (its retries already spent the outage tolerance): every write of the
            // batch gets the error. Retrying them one by one would wait out the tolerance again for each of them.
            foreach (var pending in batch)
            {
                pending.Fail(exception);
            }

            return;
        }
        catch (Exception)
        {
            // Which write failed the batch is not knowable in general; the batch was rolled back
            // whole, so each write is retried alone and gets its own outcome.
        }

        foreach (var pending in batch)
        {
            try
            {
                Volatile.Write(ref _roundTrips, _roundTrips + 1);
                await _inner.WriteAsync([pending.Write], CancellationToken.None).ConfigureAwait(false);
                Counted(pending.Write);
                pending.Succeed();
            }
            catch (Exception exception)
            {
                pending.Fail(exception);
            }
        }
    }

    /// <summary>Counts a stored write; only the consumer loop writes the counters.</summary>
    private void Counted(AtomicWrite write)
    {
        Volatile.Write(ref _writes, _writes + 1);
        Volatile.Write(ref _events, _events + write.Events.Count);
    }

    [Conditional("DEBUG")]
    private static void AssertInvariants(List<PendingWrite> batch)
    {
        foreach (var pending in batch)
        {
            Debug.Assert(pending.Task.IsCompleted, "Every write of a flushed batch has its outcome.");
        }
    }
}
