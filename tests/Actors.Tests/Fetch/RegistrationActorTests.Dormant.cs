using Akka.Actor;
using Akka.Cluster.Sharding;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task ParkedRegistration_WokenByItsIndex_StaysDormantAndLeaves_AWakeForItsTurnWhileLeaving_GoesBackThroughTheRegion()
    {
        // One turn on the node, taken by the test, so the registration's one record waits and the registration parks.
        using var fetcher = new Fetcher(new FetchOptions { AllowPrivateNetworks = true, MaxConcurrentRecords = 1, ParkPendingAfter = TimeSpan.FromMilliseconds(100) });
        var region = CreateTestProbe();
        var environment = new FetchEnvironment(Sys, fetcher, new DiskResponseStore(_bodies), TimeProvider.System)
        {
            ScopeIndexRegion = _index,
            Mediator = _mediator,
            RegistrationRegion = region,
        };
        var url = _origin.File("dormant", 2_000);
        var turn = await environment.Scheduler.AcquireAsync("the test", FetchScheduler.OriginOf(url), CancellationToken.None);
        var entity = await _shard.ChildActorOfAsync(RegistrationActor.Props(EntityId("dormant"), environment));
        var registered = new FetchRegistered(
            _scope, "dormant", _incarnation, [new FetchRequest(url, "GET", new Dictionary<string, string>(), null)],
            "title", [], 0, QuotaRemaining: 1L << 40, NotifyUrl: null, DateTimeOffset.UtcNow);
        entity.Tell(new CreateRegistration(EntityId("dormant"), registered), _client);
        await _client.ExpectMsgAsync<RegistrationView>(Timeout);
        var parked = await _shard.FishForMessageAsync<Passivate>(_ => true, Timeout);
        Assert.True(environment.Scheduler.IsParkedWaiting(EntityId("dormant")));
        entity.Tell(parked.StopMessage, _shard);
        await StopAsync(entity);

        // The index wakes every active registration after a member left: this one, parked here with its turn still to
        // come, answers, stays dormant (no resume: nothing is fetched, the scheduler still holds it parked), and leaves.
        var woken = await _shard.ChildActorOfAsync(RegistrationActor.Props(EntityId("dormant"), environment));
        woken.Tell(new WakeRegistration(EntityId("dormant")), _index);
        Assert.Equal(new RegistrationAwake(EntityId("dormant")), await _index.FishForMessageAsync<RegistrationAwake>(_ => true, Timeout));
        var leaving = await _shard.FishForMessageAsync<Passivate>(_ => true, Timeout);
        Assert.Equal(BackgroundFetchResult.None, (await GetViewAsync(woken, "dormant")).Result);
        Assert.True(environment.Scheduler.IsParkedWaiting(EntityId("dormant")));
        Assert.Equal(0, _origin.RequestsFor("dormant"));

        // Its turn comes while it is leaving: the scheduler's wake goes to the region; should the shard hand it to this
        // incarnation before it has stopped, it goes back through the region (which holds it until the entity has
        // stopped, then starts the next incarnation for it) instead of resuming an incarnation about to stop.
        turn.Dispose();
        var wake = await region.ExpectMsgAsync<WakeRegistration>(Timeout);
        woken.Tell(wake, ActorRefs.Nobody);
        Assert.Equal(wake, await region.ExpectMsgAsync<WakeRegistration>(Timeout));
        woken.Tell(leaving.StopMessage, _shard);
        await StopAsync(woken);
        Assert.Equal(0, _origin.RequestsFor("dormant"));

        // The next incarnation, started for that wake, resumes for its held turn and settles.
        var resumed = await _shard.ChildActorOfAsync(RegistrationActor.Props(EntityId("dormant"), environment));
        resumed.Tell(wake, ActorRefs.Nobody);
        AcknowledgeSettlement(resumed, await ExpectSettlementAnnouncedAsync("dormant"));
        var view = await GetViewAsync(resumed, "dormant");
        Assert.Equal(BackgroundFetchResult.Success, view.Result);
        Assert.Equal(2_000, view.Downloaded);
        Assert.Equal(1, _origin.RequestsFor("dormant"));
    }
}
