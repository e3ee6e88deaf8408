namespace BgFetchCluster.Actors.Persistence;

/// <summary>One caller's write waiting in the channel, with the promise of its outcome.</summary>
public sealed partial class BatchingJournal
{
    private sealed class PendingWrite : IDisposable
    {
        // States: Waiting -> (Joined -> Completed) | Cancelled. Joining and cancelling race on one
        // interlocked field so a write is either in a batch or withdrawn, never both.
        private const int Waiting = 0;
        private const int Joined = 1;
        private const int Cancelled = 2;

        private readonly TaskCompletionSource _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _registration;
        private int _state;

        public PendingWrite(AtomicWrite write, CancellationToken cancellationToken)
        {
            Write = write;
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingWrite)state!).TryCancel(token),
                this);
        }

        public AtomicWrite Write { get; }

        public Task Task => _outcome.Task;

        /// <summary>Claims the write for a batch; false when its caller already withdrew it.</summary>
        public bool TryJoinBatch() => Interlocked.CompareExchange(ref _state, Joined, Waiting) == Waiting;

        public void Succeed()
        {
            Dispose();
            _outcome.TrySetResult();
        }

        public void Fail(Exception exception)
        {
            Dispose();
            _outcome.TrySetException(exception);
        }

        public void Dispose() => _registration.Dispose();

        private void TryCancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Waiting) == Waiting)
            {
                _outcome.TrySetCanceled(token);
            }
        }
    }
}
