using Akka.Cluster.Sharding;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task Wake_Active_AnswersAwakeAndKeepsFetching_WithNothing_AnswersAndLeavesAgain()
    {
        var (entity, _) = await CreateAsync("woken", 0, _origin.File("woken", 100_000, hold: 1_000));
        await AwaitRequestsAsync("woken", 1);
        entity.Tell(new WakeRegistration(EntityId("woken")), _index);
        Assert.Equal(new RegistrationAwake(EntityId("woken")), await _index.FishForMessageAsync<RegistrationAwake>(_ => true, Timeout));
        Assert.False(_shard.HasMessages, "an active registration asked to passivate when woken");
        _origin.Open("woken");
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("woken"));
        Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(entity, "woken")).Result);

        // A reservation whose creation has not arrived (or never will): the entity holds nothing and leaves again.
        var empty = await StartAsync("nothing");
        empty.Tell(new WakeRegistration(EntityId("nothing")), _index);
        Assert.Equal(new RegistrationAwake(EntityId("nothing")), await _index.FishForMessageAsync<RegistrationAwake>(a => a.EntityId == EntityId("nothing"), Timeout));
        await _shard.FishForMessageAsync<Passivate>(_ => _shard.LastSender.Equals(empty), Timeout);
    }

    [Fact]
    public async Task HandOff_Active_AsksItsScopeIndexToWakeItAtItsNewHome()
    {
        // The registration region does not remember its entities (issue 17): a moving one is restarted by its index.
        var (entity, _) = await CreateAsync("moving", 0, _origin.File("moving", 100_000, hold: 1_000));
        await AwaitRequestsAsync("moving", 1);
        var watcher = CreateTestProbe();
        watcher.Watch(entity);
        entity.Tell(RegistrationActor.HandOff.Instance, _shard);
        var moved = await _index.FishForMessageAsync<WakeAgain>(_ => true, Timeout);
        Assert.Equal(new WakeAgain(ScopeIndexActor.EntityIdFor(_scope), "moving", _incarnation), moved);
        await watcher.ExpectTerminatedAsync(entity, Timeout);
        _origin.Open("moving");

        // A settled one is not woken: nothing of it needs to run.
        var (done, _) = await CreateAsync("done", 0, _origin.File("done", 1_000));
        AcknowledgeSettlement(done, await ExpectSettlementAnnouncedAsync("done"));
        Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(done, "done")).Result);
        watcher.Watch(done);
        done.Tell(RegistrationActor.HandOff.Instance, _shard);
        await watcher.ExpectTerminatedAsync(done, Timeout);

        // Told before it stopped, if at all: whatever the index probe holds now is all there is.
        while (_index.HasMessages)
        {
            Assert.IsNotType<WakeAgain>(await _index.ReceiveOneAsync(TimeSpan.Zero));
        }
    }
}
