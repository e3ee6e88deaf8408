using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// One registration incarnation: sharded, event-sourced, running one download task per unsettled request (no
/// child actors: the tasks report to it with messages, and it cancels them). It owns the totals, enforces
/// <c>downloadTotal</c> and the scope's quota, settles with the specification's reason and publishes progress to
/// its topic. Its lifecycle is
/// <see cref="RegistrationState"/>'s; after settling it passivates when idle and is started again
/// on demand to serve its records.
/// </summary>
/// <remarks>
/// An <see cref="UntypedPersistentActor"/> with one <c>switch</c> per receive rather than a <c>ReceivePersistentActor</c>:
/// one is created per registration, and a receive actor builds its handler tables in every instance (issue 17, cut 6).
/// The order of the old handlers is kept: the fencing results, then a stash of everything else while resuming.
/// </remarks>
public sealed partial class RegistrationActor : UntypedPersistentActor, IWithTimers
{

    private static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(100);

    private readonly string _entityId;
    private readonly FetchEnvironment _environment;
    private readonly RegistrationState _state = new();
    private readonly Dictionary<int, List<IActorRef>> _recordWaiters = [];

    /// <summary>The downloads in flight, by record index (see RegistrationActor.Downloads.cs).</summary>
    private readonly Dictionary<int, RunningDownload> _downloads = [];

    /// <summary>While handing off: the records whose final checkpoint has not been journaled yet; null otherwise.</summary>
    private HashSet<int>? _handOffWaiting;

    /// <summary>Response events applied to the state but not yet journaled, per record (see <c>OnResponseStarted</c>).</summary>
    private readonly Dictionary<int, List<IEvent>> _unjournaled = [];

    /// <summary>Record outcomes waiting for the next group commit (see <c>OnOutcome</c>), by record index.</summary>
    private readonly Dictionary<int, RecordSettled> _bufferedOutcomes = [];
    private long _lastPublished;
    private bool _settling;

    /// <summary>Between recovery as active and the fence of a stale copy's body writers; commands are stashed meanwhile.</summary>
    private bool _resuming;

    /// <summary>Recovered while parked here with its turn still to come: answers reads only (<see cref="StaysDormantFor"/>).</summary>
    private bool _dormant;

    /// <summary>A dormant incarnation that has asked its shard to passivate it.</summary>
    private bool _passivating;
    private bool _settlementVisible;

    /// <summary>Recovered as settled, and the index has not answered the settlement announcement yet: reads are stashed.</summary>
    private bool _readsWaitForAck;
    private (IActorRef? ReplyTo, object? Reply)? _pendingSettleReply;

    /// <summary>Creates the entity for <paramref name="entityId"/>; started by the shard region.</summary>
    public RegistrationActor(string entityId, FetchEnvironment environment)
    {
        _entityId = entityId;
        _environment = environment;

        // A registration never snapshots (its history is short), so recovery skips the snapshot store's query.
        SnapshotPluginId = BgFetchPersistence.NoSnapshotStorePluginId;
    }

    /// <summary>Props for the shard region's entity factory.</summary>
    public static Props Props(string entityId, FetchEnvironment environment) =>
        Akka.Actor.Props.CreateBy(new DirectProducer<RegistrationActor>(() => new RegistrationActor(entityId, environment)));

    /// <summary>The entity id: scope, id and incarnation, escaped and joined with '/'.</summary>
    public static string EntityIdFor(string scope, string id, string incarnation) =>
        $"{Uri.EscapeDataString(scope)}/{Uri.EscapeDataString(id)}/{incarnation}";

    /// <summary>The topic progress is published to.</summary>
    public static string TopicFor(string entityId) => "registration:" + entityId;

    /// <inheritdoc />
    public override string PersistenceId => "registration-" + _entityId;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The key of this registration's bodies in the response store.</summary>
    private string StoreKey => _entityId;

    private void OnRecoveryCompleted()
    {
        switch (_state.Phase)
        {
            case RegistrationPhase.Active when _environment.Scheduler.IsParkedWaiting(StoreKey):
                // Parked here, and its turn has not come: started by its scope index's wake (a member left, and the index
                // cannot know where each registration is) or by a read. It stays dormant: it answers, downloads nothing,
                // writes nothing, leaves its places in the scheduler as they are, and passivates again (issue 17, W5: after
                // a node loss the whole backlog is woken once; the survivors' parked part no longer resumes for it).
                _dormant = true;
                Context.SetReceiveTimeout(_environment.SettledIdle);
                break;
            case RegistrationPhase.Active:
                Resume();
                break;
            case RegistrationPhase.Settled:
                // The index may not have heard of the settlement before a crash: tell it again (idempotent). Reads wait
                // for its answer: a caller that saw this registration settled before it passivated must not see it
                // unsettled now (the first settlement hides itself until the index acknowledges; a recovered one need not).
                _readsWaitForAck = true;
                AnnounceSettlement();
                break;
            case RegistrationPhase.Released:
                // A crash came between the release and the deletion of the history: delete it now.
                DeleteMessages(LastSequenceNr);
                break;
            case RegistrationPhase.Empty when LastSequenceNr > 0:
                _state.MarkHistoryDeleted();
                break;
        }
    }

    /// <summary>
    /// A restart (crash, new node, rebalance, a parked registration's turn): resume every unsettled record from its
    /// checkpoint. The marker comes first: a stale copy of this registration that still runs (its node cut off or paused
    /// while the cluster moved it) would otherwise journal its next events at sequence numbers this incarnation has not
    /// used yet, and they would land (docs/architecture.md, "Failure model"). Before the marker, the bodies: their writers
    /// opened by such a copy are fenced in the body store, so no chunk of it lands after this incarnation's first write
    /// either. Commands wait (stashed) until then.
    /// </summary>
    private void Resume()
    {
        // A registration the scheduler woke (it had parked while it waited for a turn) is not a failover.
        if (!_environment.Scheduler.IsParked(StoreKey))
        {
            FetchMetrics.FailoverRestarts.Add(1);
        }

        _resuming = true;
        _environment.Store.FenceWritersAsync(StoreKey)
            .PipeTo(Self, success: static () => WritersFenced.Instance, failure: static e => new WritersFenceFailed(e));
    }

    /// <summary>
    /// Whether a dormant registration handles <paramref name="message"/> as it is: the reads, its index's wake while its
    /// turn has still not come, and what stops it. Anything else (the scheduler's wake for its turn, an abort, a release,
    /// a wait for a record) needs it running.
    /// </summary>
    private bool StaysDormantFor(object message) =>
        message is GetRegistration or GetRecords or ReceiveTimeout or StopEntity or HandOff or HandOffTimedOut
        || (message is WakeRegistration && _environment.Scheduler.IsParkedWaiting(StoreKey));

    /// <summary>
    /// A dormant registration leaves dormancy for <paramref name="message"/>: it resumes, and the message waits (stashed)
    /// until it has. One that has already asked to passivate sends the message back through its region instead, which
    /// holds it until this incarnation has stopped and then starts the next for it (resuming here and then stopping
    /// would cancel records that had taken the place its parked ones held in the scheduler, and nothing would wake it).
    /// </summary>
    private bool LeaveDormancyFor(object message)
    {
        if (_passivating)
        {
            // Still dormant until it stops: every such message goes the same way.
            if (message is IEntityMessage && _environment.RegistrationRegion is { } region)
            {
                region.Forward(message);
            }

            return false;
        }

        _dormant = false;
        Context.SetReceiveTimeout(null);
        Resume();
        return true;
    }

    private void OnWritersFenced()
    {
        _resuming = false;
        Persist(new RegistrationResumed(_environment.TimeProvider.GetUtcNow()), _ =>
        {
            StartRecords();
            if (_state.AllRecordsSettled)
            {
                SettleNaturally();
            }
        });
        Stash.UnstashAll();
    }

    private void OnAbort()
    {
        switch (_state.Phase)
        {
            case RegistrationPhase.Active when !_settling:
                Settle(BackgroundFetchResult.Failure, BackgroundFetchFailureReason.Aborted, RecordState.Aborted, Sender, new AbortReply(true));
                break;
            case RegistrationPhase.Active or RegistrationPhase.Settled:
                // Settling already (or settled): abort() answers false, as for a settled fetch.
                Sender.Tell(new AbortReply(false), Self);
                break;
            default:
                Sender.Tell(new RegistrationNotFound(_entityId), Self);
                break;
        }
    }

    private void OnRelease()
    {
        switch (_state.Phase)
        {
            case RegistrationPhase.Active when !_settling:
                // Release aborts an active registration first (docs/api.md, "Releasing records").
                var requester = Sender;
                Settle(BackgroundFetchResult.Failure, BackgroundFetchFailureReason.Aborted, RecordState.Aborted, null, null);
                Self.Tell(new ReleaseRegistration(_entityId), requester);
                break;
            case RegistrationPhase.Active:
                Self.Tell(new ReleaseRegistration(_entityId), Sender);
                break;
            case RegistrationPhase.Settled when !_settlementVisible:
                // The index has not freed the id yet; releasing now would leave it taken. After the ack.
                Stash.Stash();
                break;
            case RegistrationPhase.Settled:
                var replyTo = Sender;
                _environment.Store.DeleteRegistrationAsync(StoreKey)
                    .PipeTo(Self, replyTo, success: () => new BodiesDeleted(replyTo));
                break;
            default:
                Sender.Tell(new RegistrationNotFound(_entityId), Self);
                break;
        }
    }

    private void OnBodiesDeleted(BodiesDeleted deleted)
    {
        if (_state.Phase != RegistrationPhase.Settled)
        {
            deleted.ReplyTo.Tell(new RecordsReleasedReply(_entityId), Self);
            return;
        }

        Persist(new RecordsReleased(_environment.TimeProvider.GetUtcNow()), released =>
        {
            _state.Apply(released);
            var definition = _state.Definition!;
            _environment.ScopeIndexRegion.Tell(
                new MarkIdReleased(ScopeIndexActor.EntityIdFor(definition.Scope), definition.Id, definition.Incarnation), Self);
            deleted.ReplyTo.Tell(new RecordsReleasedReply(_entityId), Self);
            PublishReleased();
            // The history goes too: it holds the inline bodies, and a released registration needs none of it. The
            // journal keeps the highest sequence number, which is how a restart knows it was released.
            DeleteMessages(LastSequenceNr);
            Context.Parent.Tell(new Passivate(StopEntity.Instance), Self);
        });
    }

    private void OnGetRecords()
    {
        if (_state.Phase is RegistrationPhase.Empty or RegistrationPhase.Released)
        {
            Sender.Tell(new RegistrationNotFound(_entityId), Self);
            return;
        }

        var records = Enumerable.Range(0, _state.Records.Length).Select(_state.ToRecordView).ToArray();
        Sender.Tell(new RecordsReply(_state.ToView(hideSettlement: !_settlementVisible), _state.Definition!, records), Self);
    }

    private void OnAwaitRecord(AwaitRecord await)
    {
        if (_state.Phase is RegistrationPhase.Empty or RegistrationPhase.Released || (uint)await.Index >= (uint)_state.Records.Length)
        {
            Sender.Tell(new RegistrationNotFound(_entityId), Self);
            return;
        }

        if (_state.Records[await.Index].State.IsSettled() && (_state.Phase == RegistrationPhase.Active || _settlementVisible))
        {
            Sender.Tell(new RecordReady(_state.ToRecordView(await.Index), RecordsAvailable: true, _state.Records[await.Index].InlineBody), Self);
            return;
        }

        if (!_recordWaiters.TryGetValue(await.Index, out var waiters))
        {
            _recordWaiters[await.Index] = waiters = [];
        }

        waiters.Add(Sender);
    }

    private void ReplyView()
    {
        if (_state.Phase is RegistrationPhase.Empty or RegistrationPhase.Released)
        {
            Sender.Tell(new RegistrationNotFound(_entityId), Self);
        }
        else
        {
            Sender.Tell(_state.ToView(hideSettlement: !_settlementVisible), Self);
        }
    }

    /// <summary>
    /// The scope index wakes its active registrations (ScopeIndexActor): starting this entity, and its recovery, was the
    /// point; it answers so that the index stops waking it. One that holds nothing (a reservation whose creation has
    /// not arrived, or never will) leaves again at once; a creation arriving meanwhile starts it anew.
    /// </summary>
    private void OnWake()
    {
        Sender.Tell(new RegistrationAwake(_entityId), Self);
        if (_state.Phase is RegistrationPhase.Empty or RegistrationPhase.Released || _dormant)
        {
            PassivateNow();
        }
    }

    /// <summary>
    /// A failed journal write or recovery stops the entity (Akka.Persistence), and its shard does not remember it (issue
    /// 17, cut 2): its scope index is asked to wake it again, which it does, less often each time, until it answers; an
    /// index that no longer holds it active ignores this. The definition may be unknown here, so the entity id says whose it is.
    /// </summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        AskToBeWokenAgain();
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <inheritdoc cref="OnPersistFailure"/>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        AskToBeWokenAgain();
        base.OnRecoveryFailure(reason, message);
    }

    private void AskToBeWokenAgain()
    {
        var parts = _entityId.Split('/');
        if (parts.Length == 3)
        {
            var scope = Uri.UnescapeDataString(parts[0]);
            _environment.ScopeIndexRegion.Tell(new WakeAgain(ScopeIndexActor.EntityIdFor(scope), Uri.UnescapeDataString(parts[1]), parts[2]), Self);
        }
    }

    private void PassivateIfSettled()
    {
        if (_state.Phase is RegistrationPhase.Settled or RegistrationPhase.Released || _dormant)
        {
            PassivateNow();
        }
    }

    private void PassivateNow()
    {
        Context.SetReceiveTimeout(null);
        _passivating = _dormant;
        Context.Parent.Tell(new Passivate(StopEntity.Instance), Self);
    }

    /// <summary>The bodies are deleted; finish the release for <see cref="ReplyTo"/>.</summary>
    private sealed record BodiesDeleted(IActorRef ReplyTo) : INoSerializationVerificationNeeded;

    /// <summary>The body writers of any stale copy are fenced: the resume marker may be journaled.</summary>
    private sealed class WritersFenced : INoSerializationVerificationNeeded
    {
        public static readonly WritersFenced Instance = new();
    }

    /// <summary>Fencing the body writers failed (the store stayed away past the outage tolerance).</summary>
    private sealed record WritersFenceFailed(Exception Cause) : INoSerializationVerificationNeeded;

    /// <summary>Throttled progress publication is due.</summary>
    private sealed class PublishTick : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static PublishTick Instance { get; } = new();
    }

    /// <summary>The buffered record outcomes are due to be journaled.</summary>
    private sealed class FlushOutcomes : INoSerializationVerificationNeeded
    {
        public static FlushOutcomes Instance { get; } = new();
    }

    /// <summary>The settlement announcement to the scope index is due again.</summary>
    private sealed class AnnounceAgain : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static AnnounceAgain Instance { get; } = new();
    }

    /// <summary>
    /// The message sharding sends an entity whose shard moves to another node (a graceful leave, a rolling update,
    /// a rebalance): its records checkpoint what they stored and stop, and the entity stops once those checkpoints
    /// are journaled, so the new owner resumes exactly there.
    /// </summary>
    internal sealed class HandOff : INoSerializationVerificationNeeded
    {
        public static HandOff Instance { get; } = new();
    }

    /// <summary>The records did not all checkpoint in time: stop anyway (they resume from their last checkpoint).</summary>
    private sealed class HandOffTimedOut : INoSerializationVerificationNeeded
    {
        public static HandOffTimedOut Instance { get; } = new();
    }

    /// <summary>The stop message of a passivation.</summary>
    private sealed class StopEntity : INoSerializationVerificationNeeded
    {
        public static StopEntity Instance { get; } = new();
    }
}
