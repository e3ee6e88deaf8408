using System.Threading.RateLimiting;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Messages.Fetch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// What the fetch actors of one node share: the HTTP fetcher, the response store, the clock, the
/// topic mediator, the shard regions and the node-wide limit on records fetching at once.
/// </summary>
/// <remarks>
/// The mediator and the regions are found through their Akka extensions when first needed, because
/// remembered entities of the first region can start before the second region exists. Tests may set them.
/// </remarks>
public sealed class FetchEnvironment(
    ActorSystem system,
    Fetcher fetcher,
    IResponseStore store,
    TimeProvider timeProvider)
{
    /// <summary>The shard region type name of the scope indexes.</summary>
    public const string ScopeIndexTypeName = "scope-index";

    /// <summary>The shard region type name of the registrations.</summary>
    public const string RegistrationTypeName = "registration";

    private IActorRef? _mediator;
    private IActorRef? _scopeIndexRegion;
    private IActorRef? _registrationRegion;
    private RateLimiter? _wakeLimiter;

    /// <summary>The node's HTTP client.</summary>
    public Fetcher Fetcher { get; } = fetcher;

    /// <summary>Where response bodies go.</summary>
    public IResponseStore Store { get; } = store;

    /// <summary>Where record attempts and failures are logged.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;

    /// <summary>The clock for retries and checkpoints.</summary>
    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>The actor system the fetch actors run in.</summary>
    public ActorSystem System { get; } = system;

    /// <summary>The DistributedPubSub mediator registrations publish progress to.</summary>
    public IActorRef Mediator
    {
        get => _mediator ??= DistributedPubSub.Get(System).Mediator;
        set => _mediator = value;
    }

    /// <summary>The region of scope indexes, told when registrations settle or are released.</summary>
    public IActorRef ScopeIndexRegion
    {
        get => _scopeIndexRegion ??= ClusterSharding.Get(System).ShardRegion(ScopeIndexTypeName);
        set => _scopeIndexRegion = value;
    }

    /// <summary>The webhook notifier for <c>notify</c> URLs, if the node runs one.</summary>
    public IActorRef? Notifier { get; set; }

    /// <summary>The region of registrations (null while it is not started); the scope index releases expired ones through it.</summary>
    public IActorRef? RegistrationRegion
    {
        get => _registrationRegion ??= ClusterSharding.Get(System).ShardTypeNames.Contains(RegistrationTypeName)
            ? ClusterSharding.Get(System).ShardRegion(RegistrationTypeName)
            : null;
        set => _registrationRegion = value;
    }

    /// <summary>
    /// Bodies of at most this many bytes are journaled with their record's settlement instead of stored as files
    /// (<c>BgFetch:Storage:InlineBodyBytes</c>); 0 stores every body as a file.
    /// </summary>
    public int InlineBodyBytes { get; init; } = FetchNodeOptions.DefaultInlineBodyBytes;

    /// <summary>The most inline body bytes one registration may hold (it keeps them in memory while it runs).</summary>
    public const long InlineBytesPerRegistration = 1024 * 1024;

    /// <summary>How long settled records stay available before they are released automatically.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long a settled registration stays in memory after its last message before it passivates (issue 17): reads
    /// right after the settlement (the caller's <c>match()</c>, a waiter, a late subscriber) find it there, and the
    /// node's memory grows with the rate of settlements, not with their number. A passivated registration is served from
    /// the journal when it is asked again. It was 2 minutes until issue 17: every registration settled in the last
    /// 2 minutes stayed alive (20,000 and ~600 MiB at the end of a warm W4 run).
    /// </summary>
    public TimeSpan SettledIdle { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many <see cref="WakeRegistration"/> messages the scope indexes of this node send per second, together
    /// (<c>BgFetch:Cluster:WakesPerSecond</c>). After a node is lost, its active registrations restart at this pace,
    /// oldest first (those are the ones that were fetching), so the survivors keep answering while a large backlog comes
    /// back (issue 17). Restarting ~33,000 remembered registrations at once on two 2-core survivors starved their
    /// heartbeats and the Split Brain Resolver downed one of them; ~370 restarts per second over both kept them
    /// (bench/README.md, W5 on three nodes), hence 200 per node.
    /// </summary>
    public int WakesPerSecond { get; init; } = FetchNodeOptions.DefaultWakesPerSecond;

    /// <summary>The node-wide budget behind <see cref="WakesPerSecond"/>, refilled every 100 ms.</summary>
    internal RateLimiter WakeLimiter => LazyInitializer.EnsureInitialized(ref _wakeLimiter, () =>
    {
        var perTick = Math.Max(1, WakesPerSecond / 10);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perTick,
            TokensPerPeriod = perTick,
            ReplenishmentPeriod = WakeTick,
            AutoReplenishment = true,
            QueueLimit = 0,
        });
    });

    /// <summary>How often a scope index sends its next wakes while it has any to send.</summary>
    internal static TimeSpan WakeTick { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Who fetches next: the node-wide and per-origin limits, with registrations taking turns.</summary>
    public FetchScheduler Scheduler { get; } = new(fetcher.Options);

    /// <summary>See <see cref="FetchOptions.ParkPendingAfter"/>.</summary>
    public TimeSpan ParkPendingAfter { get; init; } = fetcher.Options.ParkPendingAfter;

    /// <summary>One writer per record at a time (see <see cref="Fetch.RecordLocks"/>).</summary>
    internal RecordLocks RecordLocks { get; } = new();
}
