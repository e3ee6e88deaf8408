using Akka.Actor;
using Akka.Cluster.Sharding;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Downloads: each unsettled record's runs as a task of the registration that reports to it with messages, and is
/// drained for a hand-off or cancelled when the registration settles or stops.
/// </summary>
/// <remarks>
/// A record used to be a child actor whose only work was to start this task and cancel it in its <c>PostStop</c>; the task
/// already told every report to the registration itself. The child cost an actor cell, a mailbox and a path per record
/// and ~3.5 KiB per pending registration (issue 17, cut 5), so the registration holds the task's cancellation instead.
/// The task never touches the actor's state: it gets the work, the environment, <see cref="ActorBase.Self"/> and a
/// token, and only tells messages. Reports of a cancelled download that arrive later are ignored as a stopped child's
/// were (<c>IsLive</c>): a download is cancelled only when the registration settles or stops.
/// </remarks>
public sealed partial class RegistrationActor
{
    private bool _waitedAtLastCheck;

    private void StartRecords()
    {
        for (var i = 0; i < _state.Records.Length; i++)
        {
            var record = _state.Records[i];
            if (record.State.IsSettled() || _downloads.ContainsKey(i))
            {
                continue;
            }

            var response = record.Response;
            var work = new RecordWork(
                StoreKey,
                i,
                record.Request,
                record.CheckpointBytes,
                response is not null,
                response?.Status ?? 0,
                response?.ETag,
                response?.LastModified,
                response?.TotalLength,
                InlineLimitOf(i));
            var download = new RunningDownload(work.Drain);
            _downloads[i] = download;
            Run(work, _environment, Self, download.Token);
        }

        if (_downloads.Count > 0 && _environment.ParkPendingAfter > TimeSpan.Zero && !Timers.IsTimerActive(ParkCheck.Instance))
        {
            _waitedAtLastCheck = false;
            Timers.StartPeriodicTimer(ParkCheck.Instance, ParkCheck.Instance, _environment.ParkPendingAfter);
        }
    }

    /// <summary>
    /// Passivates a registration that has done nothing but wait for turns for <see cref="FetchEnvironment.ParkPendingAfter"/>
    /// (two checks in a row found every download of it waiting in the scheduler): a backlog of pending registrations then
    /// costs their places in the scheduler's queues and the scope index's entries, not live actors (issue 17, W5). The
    /// scheduler keeps the places and wakes the registration when one comes up; it starts again from its journal like any
    /// registration that was stopped, and its records ask for their turns again, at the front of the queue.
    /// </summary>
    private void OnParkCheck()
    {
        if (_state.Phase != RegistrationPhase.Active || _settling)
        {
            Timers.Cancel(ParkCheck.Instance);
            return;
        }

        // Nothing in memory that the journal does not have, nobody waiting on this incarnation, every download waiting.
        var idle = !_resuming && _downloads.Count > 0 && _recordWaiters.Count == 0 && _createWaiters is null
            && _handOffWaiting is null && _unjournaled.Count == 0 && _bufferedOutcomes.Count == 0
            && _environment.Scheduler.WaitingOf(StoreKey) == _downloads.Count;
        if (!idle || !_waitedAtLastCheck)
        {
            _waitedAtLastCheck = idle;
            return;
        }

        if (_environment.RegistrationRegion is not { } region)
        {
            return;
        }

        var entityId = _entityId;
        if (_environment.Scheduler.TryPark(StoreKey, _downloads.Count, () => region.Tell(new WakeRegistration(entityId), ActorRefs.Nobody)))
        {
            Timers.Cancel(ParkCheck.Instance);
            FetchMetrics.Parked.Add(1);
            Context.Parent.Tell(new Passivate(StopEntity.Instance), Self);
        }
    }

    /// <summary>Starts the download task; static, so the task can capture nothing of the actor but what it is given.</summary>
    private static void Run(RecordWork work, FetchEnvironment environment, IActorRef registration, CancellationToken cancellationToken) =>
        _ = Task.Run(() => RecordDownload.RunAsync(work, environment, registration, cancellationToken), CancellationToken.None);

    /// <summary>
    /// The inline limit of record <paramref name="index"/>: the node's, for as many records as fit in
    /// <see cref="FetchEnvironment.InlineBytesPerRegistration"/> (the state keeps inline bodies in memory); 0 for the rest.
    /// </summary>
    private int InlineLimitOf(int index)
    {
        var limit = _environment.InlineBodyBytes;
        return limit > 0 && (index + 1L) * limit <= FetchEnvironment.InlineBytesPerRegistration ? limit : 0;
    }

    /// <summary>Cancels every download in flight (settling, or stopping) and forgets them.</summary>
    private void CancelDownloads()
    {
        foreach (var download in _downloads.Values)
        {
            download.Cancel();
        }

        _downloads.Clear();
    }

    /// <inheritdoc />
    /// <remarks>
    /// A child actor was stopped with its parent; a task is not. Every way out of the registration comes through here
    /// (passivation, a hand-off, a rebalance, shutdown, and a restart after a failure, whose default <c>PreRestart</c>
    /// calls it), so a download never outlives the incarnation that started it.
    /// </remarks>
    protected override void PostStop()
    {
        CancelDownloads();
        base.PostStop();
    }

    /// <summary>The periodic look at whether the registration only waits (<see cref="OnParkCheck"/>).</summary>
    private sealed class ParkCheck : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static readonly ParkCheck Instance = new();
    }

    /// <summary>
    /// A record's download in flight as the registration holds it: the drain a hand-off requests, and the source of
    /// the token the task was started with.
    /// </summary>
    private sealed class RunningDownload(RecordDrain drain) : IDisposable
    {
        private readonly CancellationTokenSource _cancellation = new();

        /// <summary>Asks the download to checkpoint and stop (a hand-off).</summary>
        public RecordDrain Drain { get; } = drain;

        /// <summary>The token the task observes; read once, before the task starts.</summary>
        public CancellationToken Token => _cancellation.Token;

        /// <summary>
        /// Cancels the task and disposes the source once its callbacks have run. The token is cancelled before this
        /// returns; the callbacks (closing the origin's connection, leaving the scheduler's queue, waking the task's
        /// continuations) run on the thread pool, as they did on the stopped child's thread, not in the registration's turn.
        /// </summary>
        public void Cancel() => _ = CancelAndDisposeAsync(_cancellation);

        /// <summary>Disposes the source of a download that ended by itself (it reported its outcome).</summary>
        public void Dispose() => _cancellation.Dispose();

        private static async Task CancelAndDisposeAsync(CancellationTokenSource cancellation)
        {
            try
            {
                await cancellation.CancelAsync().ConfigureAwait(false);
            }
            finally
            {
                cancellation.Dispose();
            }
        }
    }
}
