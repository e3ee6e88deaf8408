using Akka.Actor;
using Akka.TestKit;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Actors.Persistence.Sqlite;
using BgFetchCluster.Actors.Tests.Persistence;
using BgFetchCluster.Messages.Fetch;
using Xunit.Abstractions;
using AkkaTestKit = Akka.TestKit.Xunit2.TestKit;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// The scope index on Akka.Persistence with the product's plugin over a real SQLite file: a reservation is answered
/// at once and confirmed only when durable; a reservation whose write fails is reported lost and the id is free again;
/// settled and released ids; getIds in creation order; snapshots that keep the two newest; the retention sweep.
/// </summary>
public sealed class ScopeIndexActorTests(SqliteTestDatabase<ScopeIndexActorTests> database, ITestOutputHelper output)
    : ScopeIndexTestKit(database.ConnectionString, serializeMessages: true, output), IClassFixture<SqliteTestDatabase<ScopeIndexActorTests>>
{
    [Fact]
    public async Task Reserve_WriteHeld_IsAnsweredAtOnceAndConfirmedOnceDurable()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        Journal.Hold();

        index.Tell(Reserve("a", "i1"), probe);
        await probe.ExpectMsgAsync<IdReserved>(r => r.Id == "a" && r.Incarnation == "i1", Timeout);
        await Journal.WriteEntered.WaitAsync(Timeout);

        // Taken at once: a second creation of the id is refused, and getIds lists it.
        index.Tell(Reserve("a", "i2"), probe);
        Assert.Equal(409, (await probe.ExpectMsgAsync<ReservationRefused>(Timeout)).Status);
        index.Tell(new GetActiveIds(Scope), probe);
        Assert.Equal(["a"], (await probe.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);

        // Not confirmed while the write is held: the index answers the get after it, but not the confirmation.
        index.Tell(new ConfirmReservation(Scope, "a", "i1"), probe);
        index.Tell(new GetActiveIds(Scope), probe);
        await probe.ExpectMsgAsync<ActiveIds>(Timeout);
        Assert.False(probe.HasMessages, "the reservation was confirmed while its write was still held");

        Journal.Release();
        var confirmed = await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout);
        Assert.True(confirmed.Confirmed);

        // Once durable, a confirmation is answered at once; an incarnation never reserved is not confirmed.
        index.Tell(new ConfirmReservation(Scope, "a", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
        index.Tell(new ConfirmReservation(Scope, "a", "other"), probe);
        Assert.False((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
    }

    [Fact]
    public async Task ReserveAndCreate_WriteHeld_ForwardsTheCreationOnlyOnceTheReservationIsDurable()
    {
        var index = await StartIndexAsync();
        var client = CreateTestProbe();
        Journal.Hold();

        // Nothing is forwarded while the reservation's write is held: a registration exists only under a durable reservation.
        index.Tell(ReserveAndCreate("a", "i1", quota: 1000), client);
        await Journal.WriteEntered.WaitAsync(Timeout);

        // Refusals answer the caller as for a reservation, and forward nothing.
        index.Tell(ReserveAndCreate("a", "i2"), client);
        Assert.Equal(409, (await client.ExpectMsgAsync<ReservationRefused>(Timeout)).Status);
        index.Tell(ReserveAndCreate("big", "i1", quota: 1000, downloadTotal: 2000), client);
        var quota = await client.ExpectMsgAsync<ReservationRefused>(Timeout);
        Assert.Equal(("QuotaExceededError", 413, 1000L, 2000L), (quota.Name, quota.Status, quota.Quota, quota.Requested));
        index.Tell(ReserveAndCreate("c", "i1", maxActive: 1), client);
        Assert.Equal(429, (await client.ExpectMsgAsync<ReservationRefused>(Timeout)).Status);

        // The index answers a query sent after the creation meanwhile; the id is taken, nothing went to the registration.
        index.Tell(new GetActiveIds(Scope), client);
        Assert.Equal(["a"], (await client.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);
        Assert.False(Registrations.HasMessages, "the creation was forwarded before the reservation was durable");

        // Once durable: forwarded from the caller, with the quota left filled in, so the registration answers the caller
        // itself after its own write.
        Journal.Release();
        var create = await Registrations.ExpectMsgAsync<CreateRegistration>(Timeout);
        Assert.Equal(client.Ref, Registrations.LastSender);
        Assert.Equal(RegistrationActor.EntityIdFor(Scope, "a", "i1"), create.EntityId);
        Assert.False(create.AwaitReservation);
        Assert.Equal(1000, create.Registration.QuotaRemaining);
        Assert.False(client.HasMessages, "the index answered a creation it had forwarded");

        // A creator of the previous version may still ask for the confirmation.
        index.Tell(new ConfirmReservation(Scope, "a", "i1"), client);
        Assert.True((await client.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
    }

    [Fact]
    public async Task CancelReservation_OfAForwardedCreation_ReleasesTheRegistrationBehindTheCreation()
    {
        var index = await StartIndexAsync();
        var client = CreateTestProbe();
        index.Tell(ReserveAndCreate("a", "i1"), client);
        var create = await Registrations.ExpectMsgAsync<CreateRegistration>(Timeout);
        index.Tell(new CancelReservation(Scope, "a", "i1"), ActorRefs.NoSender);

        // The release comes after the creation (the caller's own release may overtake the creation, this one cannot).
        Assert.Equal(create.EntityId, (await Registrations.ExpectMsgAsync<ReleaseRegistration>(Timeout)).EntityId);
        await AssertIdFreedAsync(index, "a", client);
    }

    [Fact]
    public async Task CancelReservation_WhileTheWriteIsHeld_NeverForwardsTheCreation()
    {
        var index = await StartIndexAsync();
        var client = CreateTestProbe();
        Journal.Hold();
        index.Tell(ReserveAndCreate("a", "i1"), client);
        await Journal.WriteEntered.WaitAsync(Timeout);
        index.Tell(new CancelReservation(Scope, "a", "i1"), ActorRefs.NoSender);
        Journal.Release();

        // The caller gave up (that is why it cancelled): its creation is dropped, not forwarded, and nothing is released.
        await AssertIdFreedAsync(index, "a", client);
        Assert.False(Registrations.HasMessages, "a cancelled creation reached the registration region");
        Assert.False(client.HasMessages, "the caller that cancelled was answered");
    }

    private async Task AssertIdFreedAsync(IActorRef index, string id, TestProbe client) =>
        await AwaitAssertAsync(
            async () =>
            {
                index.Tell(new ResolveId(Scope, id), client);
                Assert.Null((await client.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);
            },
            Timeout);

    [Fact]
    public async Task GetIds_AfterSettleAndReuse_ListsActiveIdsInCreationOrder()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        foreach (var id in new[] { "c", "a", "b" })
        {
            index.Tell(Reserve(id, "i1"), probe);
            await probe.ExpectMsgAsync<IdReserved>(Timeout);
        }

        index.Tell(new GetActiveIds(Scope), probe);
        Assert.Equal(["c", "a", "b"], (await probe.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);

        // Settled: acknowledged once durable (and again when resent), gone from getIds, still resolvable.
        index.Tell(new MarkIdSettled(Scope, "c", "i1", 0), probe);
        Assert.Equal(new IdSettledAck("c", "i1"), await probe.ExpectMsgAsync<IdSettledAck>(Timeout));
        index.Tell(new MarkIdSettled(Scope, "c", "i1", 0), probe);
        Assert.Equal(new IdSettledAck("c", "i1"), await probe.ExpectMsgAsync<IdSettledAck>(Timeout));
        index.Tell(new GetActiveIds(Scope), probe);
        Assert.Equal(["a", "b"], (await probe.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);
        index.Tell(new ResolveId(Scope, "c"), probe);
        Assert.Equal("i1", (await probe.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);

        // A settled id can be created again; it is then the newest, and names the new incarnation.
        index.Tell(Reserve("c", "i2"), probe);
        await probe.ExpectMsgAsync<IdReserved>(r => r.Incarnation == "i2", Timeout);
        index.Tell(new GetActiveIds(Scope), probe);
        Assert.Equal(["a", "b", "c"], (await probe.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);
        index.Tell(new ResolveId(Scope, "c"), probe);
        Assert.Equal("i2", (await probe.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);

        // The next incarnation of the index recovers the same state and order.
        index.Tell(new ConfirmReservation(Scope, "c", "i2"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
        await StopAsync(index);
        var next = await StartIndexAsync();
        next.Tell(new GetActiveIds(Scope), probe);
        Assert.Equal(["a", "b", "c"], (await probe.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);
        next.Tell(new ConfirmReservation(Scope, "c", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
    }

    [Fact]
    public async Task MarkIdReleased_SettledId_FreesItsQuotaAndForgetsIt()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        index.Tell(Reserve("big", "i1", quota: 1000), probe);
        Assert.Equal(1000, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
        index.Tell(new MarkIdSettled(Scope, "big", "i1", StoredBytes: 600), probe);
        await probe.ExpectMsgAsync<IdSettledAck>(Timeout);

        // The settled registration's bodies still count against the quota.
        index.Tell(Reserve("next", "i1", quota: 1000, downloadTotal: 500), probe);
        Assert.Equal(413, (await probe.ExpectMsgAsync<ReservationRefused>(Timeout)).Status);

        // Released: nothing answers, but the id resolves to nothing once the event is durable, and the quota is back.
        index.Tell(new MarkIdReleased(Scope, "big", "i1"), probe);
        await AwaitAssertAsync(
            async () =>
            {
                index.Tell(new ResolveId(Scope, "big"), probe);
                Assert.Null((await probe.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);
            },
            Timeout);
        index.Tell(Reserve("next", "i1", quota: 1000, downloadTotal: 500), probe);
        Assert.Equal(1000, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
        index.Tell(new ConfirmReservation(Scope, "big", "i1"), probe);
        Assert.False((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);

        // So does the next incarnation of the index.
        index.Tell(new ConfirmReservation(Scope, "next", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
        await StopAsync(index);
        var next = await StartIndexAsync();
        next.Tell(new ResolveId(Scope, "big"), probe);
        Assert.Null((await probe.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);
        next.Tell(Reserve("more", "i1", quota: 1000, downloadTotal: 500), probe);
        Assert.Equal(500, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
    }

    [Fact]
    public async Task MarkIdSettled_ResentWhileItsWriteIsHeld_IsJournaledOnce_AndCountsItsBytesOnce()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        index.Tell(Reserve("dup", "i1", quota: 1000), probe);
        Assert.Equal(1000, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
        index.Tell(new ConfirmReservation(Scope, "dup", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);

        // The registration resends its settle until acknowledged; under load the resend arrives while the first write is
        // still in flight, when the id is still active.
        Journal.Hold();
        index.Tell(new MarkIdSettled(Scope, "dup", "i1", StoredBytes: 300), probe);
        await Journal.WriteEntered.WaitAsync(Timeout);
        index.Tell(new MarkIdSettled(Scope, "dup", "i1", StoredBytes: 300), probe);
        index.Tell(new ResolveId(Scope, "dup"), probe);
        await probe.ExpectMsgAsync<IdResolved>(Timeout);
        Journal.Release();
        await probe.ExpectMsgAsync<IdSettledAck>(Timeout);

        // The 300 stored bytes count once, now and in the next incarnation of the index.
        index.Tell(Reserve("after", "i1", quota: 1000), probe);
        Assert.Equal(700, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
        await StopAsync(index);
        var next = await StartIndexAsync();
        next.Tell(Reserve("later", "i1", quota: 1000), probe);
        Assert.Equal(700, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
    }

    [Fact]
    public async Task Recovery_OfAJournalHoldingASettleTwice_CountsItsBytesOnce()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        index.Tell(Reserve("twice", "i1", quota: 1000), probe);
        await probe.ExpectMsgAsync<IdReserved>(Timeout);
        index.Tell(new ConfirmReservation(Scope, "twice", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
        await StopAsync(index);

        // What an index of before the resend guard journaled when a resend met the first write in flight.
        var settled = new ScopeIdSettled("twice", "i1", StoredBytes: 400, DateTimeOffset.UnixEpoch);
        object[] events = [settled, settled];
        var persistenceId = "scope-index-" + ScopeIndexActor.EntityIdFor(Scope);
        var writer = Sys.ActorOf(Props.Create(() => new EventWriter(persistenceId, events)));
        writer.Tell(EventWriter.Write, probe);
        await probe.ExpectMsgAsync<EventWriter.Written>(Timeout);
        await StopAsync(writer);

        var next = await StartIndexAsync();
        next.Tell(Reserve("probe", "i1", quota: 1000), probe);
        Assert.Equal(600, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
        next.Tell(new MarkIdReleased(Scope, "twice", "i1"), probe);
        await AwaitAssertAsync(
            async () =>
            {
                next.Tell(Reserve("probe-" + Guid.NewGuid().ToString("N"), "i1", quota: 1000), probe);
                Assert.Equal(1000, (await probe.ExpectMsgAsync<IdReserved>(Timeout)).QuotaRemaining);
            },
            Timeout);
    }

    /// <summary>Appends events to a persistence id as they are (a journal as an older version left it).</summary>
    private sealed class EventWriter : Akka.Persistence.ReceivePersistentActor
    {
        public const string Write = "write";

        public EventWriter(string persistenceId, IReadOnlyList<object> events)
        {
            PersistenceId = persistenceId;
            Recover<object>(static _ => { });
            Command<string>(_ =>
            {
                var replyTo = Sender;
                var left = events.Count;
                PersistAll(events, _ =>
                {
                    if (--left == 0)
                    {
                        replyTo.Tell(new Written());
                    }
                });
            });
        }

        public override string PersistenceId { get; }

        public sealed record Written;
    }

    [Fact]
    public async Task Recovery_WakesEveryActiveRegistrationOldestFirst_AgainThoseThatDoNotAnswer_AndOnesThatMove()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        foreach (var id in new[] { "c", "a", "b" })
        {
            index.Tell(Reserve(id, "i1"), probe);
            await probe.ExpectMsgAsync<IdReserved>(Timeout);
        }

        index.Tell(new ConfirmReservation(Scope, "b", "i1"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
        index.Tell(new MarkIdSettled(Scope, "a", "i1", 0), probe);
        await probe.ExpectMsgAsync<IdSettledAck>(Timeout);
        Assert.False(Registrations.HasMessages, "an index woke registrations it had just seen created");

        // A new incarnation of the index (a crash, a move, a cluster restart) wakes the active ones, oldest first.
        await StopAsync(index);
        var again = await StartIndexAsync();
        string Entity(string id) => RegistrationActor.EntityIdFor(Scope, id, "i1");
        Assert.Equal(Entity("c"), (await Registrations.ExpectMsgAsync<WakeRegistration>(Timeout)).EntityId);
        Assert.Equal(again, Registrations.LastSender);
        Assert.Equal(Entity("b"), (await Registrations.ExpectMsgAsync<WakeRegistration>(Timeout)).EntityId);

        // "c" answers, "b" does not (its wake was lost while its shard moved): only "b" is woken again.
        again.Tell(new RegistrationAwake(Entity("c")), Registrations);
        Assert.Equal(Entity("b"), (await Registrations.ExpectMsgAsync<WakeRegistration>(Timeout)).EntityId);
        again.Tell(new RegistrationAwake(Entity("b")), Registrations);

        // A registration that is moving asks to be woken at its new home; a settled one or another incarnation is not woken.
        again.Tell(new WakeAgain(Scope, "a", "i1"), probe);
        again.Tell(new WakeAgain(Scope, "c", "other"), probe);
        again.Tell(new WakeAgain(Scope, "c", "i1"), probe);
        Assert.Equal(Entity("c"), (await Registrations.ExpectMsgAsync<WakeRegistration>(Timeout)).EntityId);
    }

    [Fact]
    public async Task SweepExpired_SettledPastRetention_ReleasesItThroughTheRegistrationRegion()
    {
        var index = await StartIndexAsync(retention: TimeSpan.FromMilliseconds(400));
        var probe = CreateTestProbe();
        index.Tell(Reserve("kept", "i1"), probe);
        index.Tell(Reserve("done", "i1"), probe);
        await probe.ReceiveNAsync(2, Timeout).ToListAsync();
        index.Tell(new MarkIdSettled(Scope, "done", "i1", 0), probe);
        await probe.ExpectMsgAsync<IdSettledAck>(Timeout);

        // Only the settled one is released, and only through the registration region.
        var release = await Registrations.ExpectMsgAsync<ReleaseRegistration>(Timeout);
        Assert.Equal(RegistrationActor.EntityIdFor(Scope, "done", "i1"), release.EntityId);
        Assert.Equal(index, Registrations.LastSender);
    }

    [Fact]
    public async Task Snapshots_AsTheIndexGrows_ComeLessOftenKeepTheTwoNewestAndRecoverEveryId()
    {
        const int count = 4000;
        const int round = 500;
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        var persistenceId = "scope-index-" + Scope;
        await using var snapshots = new SqliteSnapshotStore(ConnectionString);

        // In rounds that become durable before the next (a snapshot waits until no write is in flight).
        for (var start = 0; start < count; start += round)
        {
            for (var i = start; i < start + round; i++)
            {
                index.Tell(Reserve($"id-{i}", "i", maxActive: count), probe);
            }

            await probe.ReceiveNAsync(round, Timeout).ToListAsync();
            index.Tell(new ConfirmReservation(Scope, $"id-{start + round - 1}", "i"), probe);
            Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
        }

        // Due after max(1,000, entries in the last snapshot) events: at 1,000, 2,000 and 4,000, not every 1,000; the
        // one at 1,000 is deleted once the one at 4,000 is stored.
        await AwaitAssertAsync(
            async () => Assert.Equal([4000L, 2000L], await StoredSnapshotsAsync(snapshots, persistenceId)),
            Timeout);

        await StopAsync(index);
        var next = await StartIndexAsync();
        next.Tell(new GetActiveIds(Scope), probe);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"id-{i}"), (await probe.ExpectMsgAsync<ActiveIds>(Timeout)).Ids);
    }


    /// <summary>The sequence numbers of the entity's stored snapshots, newest first.</summary>
    private static async Task<List<long>> StoredSnapshotsAsync(SqliteSnapshotStore snapshots, string persistenceId)
    {
        var stored = new List<long>();
        var criteria = SnapshotSelectionCriteria.Latest;
        while (await snapshots.LoadAsync(persistenceId, criteria) is { } snapshot)
        {
            stored.Add(snapshot.Metadata.SequenceNr);
            criteria = new SnapshotSelectionCriteria(MaxSequenceNr: snapshot.Metadata.SequenceNr - 1);
        }

        return stored;
    }

}

/// <summary>
/// A reservation whose journal write fails. Run with message verification off, see <see cref="FetchTestConfig.For"/>.
/// </summary>
public sealed class ScopeIndexActorWriteFailureTests(SqliteTestDatabase<ScopeIndexActorWriteFailureTests> database, ITestOutputHelper output)
    : ScopeIndexTestKit(database.ConnectionString, serializeMessages: false, output), IClassFixture<SqliteTestDatabase<ScopeIndexActorWriteFailureTests>>
{
    [Fact]
    public async Task Registration_WriteFails_StopsAndAsksItsScopeIndexToWakeItAgain()
    {
        // Its shard does not remember it (issue 17): the index is what starts it again once the journal works again.
        var scopeIndex = CreateTestProbe();
        var bodies = Path.Combine(Path.GetTempPath(), "bgfetch-wake-" + Guid.NewGuid().ToString("N"));
        using var fetcher = new Fetcher(new FetchOptions());
        var environment = new FetchEnvironment(Sys, fetcher, new DiskResponseStore(bodies), TimeProvider.System)
        {
            ScopeIndexRegion = scopeIndex,
            Mediator = CreateTestProbe(),
            RegistrationRegion = Registrations,
        };
        const string id = "an id/with a slash";
        var entityId = RegistrationActor.EntityIdFor(Scope, id, "i1");
        var probe = CreateTestProbe();
        var entity = Sys.ActorOf(RegistrationActor.Props(entityId, environment));
        probe.Watch(entity);
        entity.Tell(new GetRegistration(entityId), probe);
        await probe.ExpectMsgAsync<RegistrationNotFound>(Timeout);

        Journal.Hold();
        var registered = new FetchRegistered(
            Scope, id, "i1", [new FetchRequest("https://example.invalid/a", "GET", new Dictionary<string, string>(), null)],
            "title", [], 0, QuotaRemaining: Quota, NotifyUrl: null, DateTimeOffset.UtcNow);
        entity.Tell(new CreateRegistration(entityId, registered), probe);
        await Journal.WriteEntered.WaitAsync(Timeout);
        Journal.Fail();

        Assert.Equal(new WakeAgain(ScopeIndexActor.EntityIdFor(Scope), id, "i1"), await scopeIndex.ExpectMsgAsync<WakeAgain>(Timeout));
        await probe.ExpectTerminatedAsync(entity, Timeout);
    }

    [Fact]
    public async Task Reserve_WriteFails_IsReportedLostAndTheNextIncarnationFreesTheId()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        probe.Watch(index);
        Journal.Hold();

        index.Tell(Reserve("b", "i1"), probe);
        await probe.ExpectMsgAsync<IdReserved>(Timeout);
        await Journal.WriteEntered.WaitAsync(Timeout);
        index.Tell(new ConfirmReservation(Scope, "b", "i1"), probe);
        index.Tell(new GetActiveIds(Scope), probe);
        await probe.ExpectMsgAsync<ActiveIds>(Timeout);
        Journal.Fail();

        // The waiter hears that the reservation is lost, and the index stops (it cannot know its state).
        var lost = await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout);
        Assert.False(lost.Confirmed);
        await probe.ExpectTerminatedAsync(index, Timeout);

        var next = await StartIndexAsync();
        next.Tell(new ResolveId(Scope, "b"), probe);
        Assert.Null((await probe.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);
        next.Tell(Reserve("b", "i2"), probe);
        await probe.ExpectMsgAsync<IdReserved>(r => r.Incarnation == "i2", Timeout);
        next.Tell(new ConfirmReservation(Scope, "b", "i2"), probe);
        Assert.True((await probe.ExpectMsgAsync<ReservationConfirmed>(Timeout)).Confirmed);
    }
    [Fact]
    public async Task ReserveAndCreate_WriteFails_TellsTheCallerItsReservationIsLost_AndCreatesNothing()
    {
        var index = await StartIndexAsync();
        var probe = CreateTestProbe();
        probe.Watch(index);
        Journal.Hold();

        index.Tell(ReserveAndCreate("b", "i1"), probe);
        await Journal.WriteEntered.WaitAsync(Timeout);
        Journal.Fail();

        // The caller hears it (a 503 through the API); nothing reached the registration; the index stops and frees the id.
        Assert.Equal(new ReservationLost("b", "i1"), await probe.ExpectMsgAsync<ReservationLost>(Timeout));
        await probe.ExpectTerminatedAsync(index, Timeout);
        Assert.False(Registrations.HasMessages, "a creation whose reservation was lost reached the registration region");
        var next = await StartIndexAsync();
        next.Tell(new ResolveId(Scope, "b"), probe);
        Assert.Null((await probe.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);
    }
}

/// <summary>What the scope index tests share: the system over the plugin, a held journal, the index's environment.</summary>
public abstract class ScopeIndexTestKit : AkkaTestKit
{
    protected const long Quota = 1L << 30;
    protected static readonly TimeSpan Timeout = FetchTestConfig.Timeout;

    /// <summary>The scope of the test's index: every test has its own.</summary>
    protected string Scope { get; } = "scope-" + Guid.NewGuid().ToString("N");

    private readonly string _bodies = Path.Combine(Path.GetTempPath(), "bgfetch-index-" + Guid.NewGuid().ToString("N"));
    // The origin of the creation tests' registrations is on loopback.
    private readonly Fetcher _fetcher = new(new FetchOptions { AllowPrivateNetworks = true });
    private HeldJournal? _journal;

    protected ScopeIndexTestKit(string connectionString, bool serializeMessages, ITestOutputHelper output)
        : base(FetchTestConfig.For(connectionString, serializeMessages), output: output)
    {
        ConnectionString = connectionString;
        Registrations = CreateTestProbe();

        // The plugin builds its SQLite journal from configuration; the test only wraps it, so writes can be held.
        JournalDecorator.Register(Sys, inner => _journal = new HeldJournal(inner));
    }

    /// <summary>The registration region the index releases expired registrations through.</summary>
    protected TestProbe Registrations { get; }

    /// <summary>The SQLite database of the journal and snapshot store.</summary>
    protected string ConnectionString { get; }

    /// <summary>The plugin's journal, once the first persistent actor has made Akka start it.</summary>
    private protected HeldJournal Journal => _journal ?? throw new InvalidOperationException("The journal plugin has not started yet.");

    protected override void AfterAll()
    {
        base.AfterAll();
        _fetcher.Dispose();
        if (Directory.Exists(_bodies))
        {
            Directory.Delete(_bodies, recursive: true);
        }
    }

    protected ReserveAndCreate ReserveAndCreate(string id, string incarnation, int maxActive = 100, long quota = Quota, long downloadTotal = 0) =>
        new(
            Scope, quota, maxActive,
            new FetchRegistered(
                Scope, id, incarnation, [new FetchRequest("http://origin.test/" + id, "GET", new Dictionary<string, string>(), null)], "title", [],
                downloadTotal, QuotaRemaining: 0, NotifyUrl: null, DateTimeOffset.UnixEpoch));

    protected ReserveId Reserve(string id, string incarnation, int maxActive = 100, long quota = Quota, long downloadTotal = 0) =>
        new(Scope, id, incarnation, downloadTotal, 0, quota, maxActive);

    /// <summary>Starts an incarnation of the scope's index and waits until it has recovered (it answers a query).</summary>
    protected Task<IActorRef> StartIndexAsync(TimeSpan? retention = null) =>
        StartIndexAsync(NewEnvironment(retention, Registrations));

    /// <summary>The environment of a node: this kit's fetcher and body directory, and the given registration region.</summary>
    protected FetchEnvironment NewEnvironment(TimeSpan? retention, IActorRef registrationRegion) =>
        new(Sys, _fetcher, new DiskResponseStore(_bodies), TimeProvider.System)
        {
            Retention = retention ?? TimeSpan.FromDays(1),
            RegistrationRegion = registrationRegion,
        };

    /// <summary>Starts an incarnation of the scope's index in <paramref name="environment"/> and waits until it has recovered.</summary>
    protected async Task<IActorRef> StartIndexAsync(FetchEnvironment environment)
    {
        var index = Sys.ActorOf(ScopeIndexActor.Props(Scope, environment));
        var probe = CreateTestProbe();
        index.Tell(new GetActiveIds(Scope), probe);
        await probe.ExpectMsgAsync<ActiveIds>(Timeout);
        return index;
    }

    protected async Task StopAsync(IActorRef actor)
    {
        var watcher = CreateTestProbe();
        watcher.Watch(actor);
        Sys.Stop(actor);
        await watcher.ExpectTerminatedAsync(actor, Timeout);
    }
}
