using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using Akka.Util;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Per-scope limits (docs/api.md, <c>BgFetch:Limits</c>).</summary>
public sealed record FetchLimits
{
    /// <summary>Storage a scope may hold in unreleased bodies.</summary>
    public long ScopeQuotaBytes { get; init; } = 100L * 1024 * 1024 * 1024;

    /// <summary>Active registrations a scope may have.</summary>
    public int MaxActiveRegistrationsPerScope { get; init; } = 100_000;

    /// <summary>Requests in one registration.</summary>
    public int MaxRequestsPerRegistration { get; init; } = 10_000;
}

/// <summary>
/// The BackgroundFetchManager of one node: what the HTTP API calls. Every operation is a message to
/// the scope's index entity and to the registration entity, through their shard regions.
/// </summary>
public sealed class FetchService(
    ActorSystem system,
    IActorRef registrations,
    IActorRef scopeIndexes,
    IActorRef mediator,
    FetchLimits limits,
    TimeProvider timeProvider)
{
    /// <summary>
    /// How long an ask to the cluster may take (<c>BgFetch:Http:RequestTimeout</c>); one that takes longer fails with
    /// an <see cref="AskTimeoutException"/>, which the HTTP API answers with 503.
    /// </summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The limits enforced at creation.</summary>
    public FetchLimits Limits { get; } = limits;

    /// <summary>
    /// Validates and creates a registration. Throws <see cref="RegistrationRejectedException"/> when the
    /// call is refused, and <see cref="ReservationLostException"/> when the scope index could not store the reservation;
    /// nothing is stored then.
    /// </summary>
    public async Task<RegistrationView> CreateAsync(string scope, CreateRegistrationBody body, CancellationToken cancellationToken = default)
    {
        using var activity = FetchMetrics.ActivitySource.StartActivity("bgfetch.create");
        var parsed = FetchRequestParser.Parse(body, Limits.MaxRequestsPerRegistration);
        var incarnation = Guid.NewGuid().ToString("N");
        if (!EveryMemberTakesOneAsk())
        {
            return await CreateWithThreeAsksAsync(scope, parsed, incarnation, cancellationToken).ConfigureAwait(false);
        }

        var index = ScopeIndexActor.EntityIdFor(scope);
        var entityId = RegistrationActor.EntityIdFor(scope, parsed.Id, incarnation);

        // One ask (issue 17, cut 1): the index reserves the id and forwards the creation to the registration, which
        // answers here once its definition and the reservation are both durable. The quota left is the index's to fill in.
        var registered = new FetchRegistered(
            scope, parsed.Id, incarnation, parsed.Requests, parsed.Title, parsed.Icons, parsed.DownloadTotal,
            QuotaRemaining: 0, parsed.NotifyUrl, timeProvider.GetUtcNow(), parsed.BaseUrl);
        object reply;
        try
        {
            reply = await scopeIndexes.Ask<object>(
                new ReserveAndCreate(index, Limits.ScopeQuotaBytes, Limits.MaxActiveRegistrationsPerScope, registered),
                AskTimeout,
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Unanswered (a store outage, a shard moving): the caller hears 503 (or 500) and must be able to trust that
            // nothing was changed. The reservation may still be journaled and the registration created after that, so
            // the registration is released (aborted first if it runs; a release of nothing answers "not found") and the
            // reservation is given back, behind the creation in the index's mailbox (the index then releases the
            // registration once more, behind the creation it forwarded).
            registrations.Tell(new ReleaseRegistration(entityId), ActorRefs.NoSender);
            scopeIndexes.Tell(new CancelReservation(index, parsed.Id, incarnation), ActorRefs.NoSender);
            throw;
        }

        if (reply is ReservationLost)
        {
            // The index's write failed (or was refused: the stale index of a node that was cut off). An index of this
            // version forwards the creation only once its reservation is durable, so nothing was created; one of the
            // previous version forwarded it at once, and that registration has aborted itself. Either way the caller
            // hears 503 and nothing may stay: release what may exist, as for an unanswered ask.
            registrations.Tell(new ReleaseRegistration(entityId), ActorRefs.NoSender);
            scopeIndexes.Tell(new CancelReservation(index, parsed.Id, incarnation), ActorRefs.NoSender);
            throw new ReservationLostException(parsed.Id);
        }

        var view = reply switch
        {
            RegistrationView created => created,
            ReservationRefused refused => throw new RegistrationRejectedException(refused.Name, refused.Status, refused.Detail, refused.Quota, refused.Requested),
            _ => throw new InvalidOperationException($"Unexpected reply to a creation: {reply}"),
        };

        FetchMetrics.RegistrationsCreated.Add(1);
        return view;
    }

    /// <summary>
    /// The version from which a node's scope indexes take <see cref="ReserveAndCreate"/>: every node of this version sets
    /// it as its <c>akka.cluster.app-version</c> (<see cref="FetchHocon"/>); nodes of before (Akka's default version,
    /// their assembly's 1.0.0) do not.
    /// </summary>
    public static AppVersion OneAskVersion { get; } = AppVersion.Create(FetchHocon.AppVersion);

    /// <summary>
    /// Whether a creation may take one ask: during a rolling update from a version before it, a scope's index may still
    /// run on an older node, which cannot read <see cref="ReserveAndCreate"/>; then the creation takes the three asks
    /// every version understands.
    /// </summary>
    public static bool TakesOneAsk(IEnumerable<AppVersion> memberVersions) => memberVersions.All(static v => v.CompareTo(OneAskVersion) >= 0);

    private bool EveryMemberTakesOneAsk() =>
        system is not ExtendedActorSystem { Provider: IClusterActorRefProvider }
        || TakesOneAsk(Cluster.Get(system).State.Members.Select(static m => m.AppVersion));

    /// <summary>The creation of the versions before issue 17's cut 1: reserve, create, confirm.</summary>
    private async Task<RegistrationView> CreateWithThreeAsksAsync(string scope, ParsedRegistration parsed, string incarnation, CancellationToken cancellationToken)
    {
        var index = ScopeIndexActor.EntityIdFor(scope);
        object reply;
        try
        {
            reply = await scopeIndexes.Ask<object>(
                new ReserveId(index, parsed.Id, incarnation, parsed.DownloadTotal, parsed.UploadTotal, Limits.ScopeQuotaBytes, Limits.MaxActiveRegistrationsPerScope),
                AskTimeout,
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Unanswered (a store outage, a shard moving): the reservation may still be journaled after the caller has
            // heard 503. Cancelling it here, behind the reservation in the index's mailbox, leaves the id free again.
            scopeIndexes.Tell(new CancelReservation(index, parsed.Id, incarnation), ActorRefs.NoSender);
            throw;
        }

        var reserved = reply switch
        {
            IdReserved ok => ok,
            ReservationRefused refused => throw new RegistrationRejectedException(refused.Name, refused.Status, refused.Detail, refused.Quota, refused.Requested),
            _ => throw new InvalidOperationException($"Unexpected reply to a reservation: {reply}"),
        };

        var entityId = RegistrationActor.EntityIdFor(scope, parsed.Id, incarnation);
        var registered = new FetchRegistered(
            scope, parsed.Id, incarnation, parsed.Requests, parsed.Title, parsed.Icons, parsed.DownloadTotal,
            reserved.QuotaRemaining, parsed.NotifyUrl, timeProvider.GetUtcNow(), parsed.BaseUrl);
        RegistrationView view;
        try
        {
            // The reservation's write and this one go to the journal together (often one transaction).
            view = await registrations.Ask<RegistrationView>(new CreateRegistration(entityId, registered), AskTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The caller hears 503 (or 500) and must be able to trust that nothing was changed: a registration whose
            // create only timed out may still be journaled later, so it is released (aborted first if it runs; a
            // release of nothing answers "not found"), and the reservation is given back.
            registrations.Tell(new ReleaseRegistration(entityId), ActorRefs.NoSender);
            scopeIndexes.Tell(new CancelReservation(index, parsed.Id, incarnation), ActorRefs.NoSender);
            throw;
        }

        // Only a durable reservation makes the registration's id safe to announce; normally it already is.
        var confirmed = await scopeIndexes.Ask<ReservationConfirmed>(new ConfirmReservation(index, parsed.Id, incarnation), AskTimeout, cancellationToken).ConfigureAwait(false);
        if (!confirmed.Confirmed)
        {
            // Aborted first, then released: the caller hears 503, which promises that nothing was created.
            registrations.Tell(new ReleaseRegistration(entityId), ActorRefs.NoSender);
            throw new ReservationLostException(parsed.Id);
        }

        FetchMetrics.RegistrationsCreated.Add(1);
        return view;
    }

    /// <summary>The registration the id names (active, or settled and unreleased), or null.</summary>
    public async Task<RegistrationView?> GetAsync(string scope, string id, CancellationToken cancellationToken = default)
    {
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return null;
        }

        return await registrations.Ask<object>(new GetRegistration(entityId), AskTimeout, cancellationToken).ConfigureAwait(false) as RegistrationView;
    }

    /// <summary>The ids of the scope's active registrations, oldest first.</summary>
    public async Task<IReadOnlyList<string>> GetIdsAsync(string scope, CancellationToken cancellationToken = default) =>
        (await scopeIndexes.Ask<ActiveIds>(new GetActiveIds(ScopeIndexActor.EntityIdFor(scope)), AskTimeout, cancellationToken).ConfigureAwait(false)).Ids;

    /// <summary>Aborts: true when it was active, false when already settled, null when unknown.</summary>
    public async Task<bool?> AbortAsync(string scope, string id, CancellationToken cancellationToken = default)
    {
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return null;
        }

        var reply = await registrations.Ask<object>(new AbortRegistration(entityId), AskTimeout, cancellationToken).ConfigureAwait(false);
        return reply is AbortReply abort ? abort.Aborted : null;
    }

    /// <summary>Releases the records (aborting first if active); false when unknown.</summary>
    public async Task<bool> ReleaseAsync(string scope, string id, CancellationToken cancellationToken = default)
    {
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return false;
        }

        var reply = await registrations.Ask<object>(new ReleaseRegistration(entityId), AskTimeout, cancellationToken).ConfigureAwait(false);
        return reply is RecordsReleasedReply;
    }

    /// <summary>
    /// <c>updateUI()</c>: replaces the title and/or icons (null leaves one as it is). The registration as it now is, or null
    /// when the id names nothing. Throws <see cref="RegistrationRejectedException"/> for icons that create would refuse.
    /// </summary>
    public async Task<RegistrationView?> UpdateUiAsync(
        string scope, string id, string? title, IReadOnlyList<IconView>? icons, CancellationToken cancellationToken = default)
    {
        FetchRequestParser.CheckIcons(icons, "icons");
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return null;
        }

        return await registrations.Ask<object>(new UpdateRegistrationUi(entityId, title, icons), AskTimeout, cancellationToken).ConfigureAwait(false) as RegistrationView;
    }

    /// <summary>The registration with all its records, or null when unknown.</summary>
    public async Task<RecordsReply?> GetRecordsAsync(string scope, string id, CancellationToken cancellationToken = default)
    {
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return null;
        }

        return await registrations.Ask<object>(new GetRecords(entityId), AskTimeout, cancellationToken).ConfigureAwait(false) as RecordsReply;
    }

    /// <summary>Waits until the record settles; null when the registration or record is unknown.</summary>
    public async Task<(RecordReady Ready, string EntityId)?> AwaitRecordAsync(string scope, string id, int index, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return null;
        }

        if (timeout <= TimeSpan.Zero)
        {
            // "Do not wait" still deserves the entity's answer: an Ask with no time at all would expire
            // before any reply, and a settled record (or an unknown index) would look like a timeout.
            if (await registrations.Ask<object>(new GetRecords(entityId), AskTimeout, cancellationToken).ConfigureAwait(false) is not RecordsReply snapshot
                || (uint)index >= (uint)snapshot.Records.Count)
            {
                return null;
            }

            var record = snapshot.Records[index];
            return record.State.IsSettled()
                ? (new RecordReady(record, snapshot.Registration.RecordsAvailable), entityId)
                : throw new TimeoutException($"Record {index} of '{id}' has not settled.");
        }

        var reply = await registrations.Ask<object>(new AwaitRecord(entityId, index), timeout, cancellationToken).ConfigureAwait(false);
        return reply is RecordReady ready ? (ready, entityId) : null;
    }

    /// <summary>
    /// Progress of the registration as it happens, ending with its settled state. A subscriber that
    /// arrives after settlement gets the settled state at once. Null when the id names nothing.
    /// With <paramref name="untilReleased"/> the sequence goes on after the settled state with the notices of
    /// <see cref="RegistrationProgress"/> (UI updated) and ends with the release notice instead.
    /// </summary>
    public async Task<IAsyncEnumerable<RegistrationProgress>?> SubscribeAsync(
        string scope, string id, bool untilReleased = false, CancellationToken cancellationToken = default)
    {
        var entityId = await ResolveAsync(scope, id, cancellationToken).ConfigureAwait(false);
        if (entityId is null)
        {
            return null;
        }

        var channel = Channel.CreateBounded<RegistrationProgress>(new BoundedChannelOptions(64)
        {
            // A slow reader loses the oldest intermediate progress, never the settled message (always the newest):
            // progress is at-most-once by design (docs/architecture.md), and memory per stream stays bounded.
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var topic = RegistrationActor.TopicFor(entityId);
        var subscriber = system.ActorOf(TopicSubscriber.Props(topic, mediator, channel.Writer, subscribed));
        try
        {
            // Subscribe first, then read the current state: nothing published in between is missed.
            await subscribed.Task.WaitAsync(AskTimeout, cancellationToken).ConfigureAwait(false);
            var current = await registrations.Ask<object>(new GetRegistration(entityId), AskTimeout, cancellationToken).ConfigureAwait(false);
            if (current is RegistrationView view)
            {
                return Stream(view, channel.Reader, subscriber, untilReleased, cancellationToken);
            }
        }
        catch
        {
            subscriber.Tell(PoisonPill.Instance, ActorRefs.NoSender);
            throw;
        }

        subscriber.Tell(PoisonPill.Instance, ActorRefs.NoSender);
        return null;
    }

    private async IAsyncEnumerable<RegistrationProgress> Stream(
        RegistrationView current,
        ChannelReader<RegistrationProgress> reader,
        IActorRef subscriber,
        bool untilReleased,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            var settled = current.Result != BackgroundFetchResult.None;
            yield return new RegistrationProgress(current, settled);
            if (settled && !untilReleased)
            {
                yield break;
            }

            await foreach (var progress in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!untilReleased && !progress.IsProgress)
                {
                    continue;
                }

                // A settlement published while the current state was read is the one already given.
                if (settled && progress.IsProgress)
                {
                    continue;
                }

                yield return progress;
                settled |= progress.Settled && progress.IsProgress;
                if (progress.Released || settled && !untilReleased)
                {
                    yield break;
                }
            }
        }
        finally
        {
            subscriber.Tell(PoisonPill.Instance, ActorRefs.NoSender);
        }
    }

    private async Task<string?> ResolveAsync(string scope, string id, CancellationToken cancellationToken)
    {
        var resolved = await scopeIndexes.Ask<IdResolved>(new ResolveId(ScopeIndexActor.EntityIdFor(scope), id), AskTimeout, cancellationToken).ConfigureAwait(false);
        return resolved.Incarnation is { } incarnation ? RegistrationActor.EntityIdFor(scope, id, incarnation) : null;
    }
}
