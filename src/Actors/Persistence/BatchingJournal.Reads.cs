using System.Threading.Channels;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// Highest-sequence-number reads, batched like writes: Akka asks for one before every recovery, so each new entity
/// used to cost a query of its own. Concurrent reads now share one query per round trip.
/// </summary>
/// <remarks>
/// Invariants:
/// <list type="bullet">
/// <item>Exactly one consumer loop reads the read channel, so at most one read batch is in flight (besides the write
/// batch: reads and writes do not wait for each other here; the plugin orders an id's read after its write).</item>
/// <item>Every enqueued read completes exactly once: with its own id's number, with the error of its batch, or
/// cancelled when its caller gives up. A read changes nothing, so a caller may stop waiting at any time, even after
/// its read joined a batch.</item>
/// <item>After <see cref="DisposeAsync"/> no read is accepted, and every read accepted before it is answered before
/// DisposeAsync returns.</item>
/// </list>
/// </remarks>
public sealed partial class BatchingJournal
{
    /// <summary>The default upper bound of reads in one query.</summary>
    public const int DefaultMaxReadBatchSize = 500;

    private readonly int _maxReadBatchSize;
    private readonly Channel<PendingRead> _pendingReads = Channel.CreateUnbounded<PendingRead>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = false,
        AllowSynchronousContinuations = false,
    });

    private readonly Task _readConsumer;
    private long _readRoundTrips;
    private long _reads;

    /// <summary>Highest-sequence-number queries sent to the inner journal so far (each a batch of reads).</summary>
    public long ReadRoundTrips => Volatile.Read(ref _readRoundTrips);

    /// <summary>Highest-sequence-number reads answered so far.</summary>
    public long Reads => Volatile.Read(ref _reads);

    /// <summary>
    /// The entity's highest sequence number (see <see cref="IJournal.ReadHighestSequenceNrAsync"/>), read in one
    /// query with whatever other reads are waiting.
    /// </summary>
    /// <remarks>
    /// A write that completed before this call is counted. One still in flight may or may not be: the caller that
    /// needs it (a recovery after its own writes) waits for it first.
    /// </remarks>
    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(persistenceId);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingRead(persistenceId, cancellationToken);
        if (!_pendingReads.Writer.TryWrite(pending))
        {
            pending.Dispose();
            throw new ObjectDisposedException(nameof(BatchingJournal));
        }

        return pending.Task;
    }

    private async Task ConsumeReadsAsync()
    {
        var batch = new List<PendingRead>(Math.Min(_maxReadBatchSize, 64));
        var ids = new List<string>(batch.Capacity);
        var reader = _pendingReads.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Everything already waiting goes in one query (up to the bound): a lone read goes out at once, and the
            // reads that arrive while a query is in flight share the next one.
            while (batch.Count < _maxReadBatchSize && reader.TryRead(out var pending))
            {
                if (pending.TryJoinBatch())
                {
                    batch.Add(pending);
                    ids.Add(pending.PersistenceId);
                }
            }

            if (batch.Count > 0)
            {
                await FlushReadsAsync(batch, ids).ConfigureAwait(false);
            }

            batch.Clear();
            ids.Clear();
        }
    }

    private async Task FlushReadsAsync(List<PendingRead> batch, List<string> ids)
    {
        IReadOnlyList<long> highest;
        try
        {
            // No caller's token: the query serves every read of the batch. The inner journal's resilience retries
            // transient errors around the whole query.
            Volatile.Write(ref _readRoundTrips, _readRoundTrips + 1);
            highest = await _inner.ReadHighestSequenceNrsAsync(ids, CancellationToken.None).ConfigureAwait(false);
            if (highest.Count != batch.Count)
            {
                throw new InvalidOperationException($"The journal answered {highest.Count} of {batch.Count} highest sequence numbers.");
            }
        }
        catch (Exception exception)
        {
            // Unlike a write, a read cannot fail because of another read of its batch: the error is every caller's.
            foreach (var pending in batch)
            {
                pending.Fail(exception);
            }

            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Succeed(highest[i]);
        }

        Volatile.Write(ref _reads, _reads + batch.Count);
    }

    /// <summary>One caller's read waiting in the channel, with the promise of its answer.</summary>
    private sealed class PendingRead : IDisposable
    {
        private readonly TaskCompletionSource<long> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _registration;

        public PendingRead(string persistenceId, CancellationToken cancellationToken)
        {
            PersistenceId = persistenceId;
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingRead)state!)._answer.TrySetCanceled(token),
                this);
        }

        public string PersistenceId { get; }

        public Task<long> Task => _answer.Task;

        /// <summary>False when its caller already gave up: the read is then left out of the query.</summary>
        public bool TryJoinBatch()
        {
            if (!_answer.Task.IsCompleted)
            {
                return true;
            }

            Dispose();
            return false;
        }

        public void Succeed(long highest)
        {
            Dispose();
            _answer.TrySetResult(highest);
        }

        public void Fail(Exception exception)
        {
            Dispose();
            _answer.TrySetException(exception);
        }

        public void Dispose() => _registration.Dispose();
    }
}
