using System.Diagnostics;
using Akka.Cluster.Sharding;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task Settled_PassivatesOnceIdleForSettledIdle_EachReadPostponesIt_AndItIsServedFromTheJournalAfterwards()
    {
        // Memory follows the rate of settlements, not their number (issue 17): a settled registration leaves once idle.
        var idle = TimeSpan.FromSeconds(1);
        var environment = new FetchEnvironment(Sys, _fetcher, new DiskResponseStore(_bodies), TimeProvider.System)
        {
            ScopeIndexRegion = _index,
            Mediator = _mediator,
            RegistrationRegion = CreateTestProbe(),
            SettledIdle = idle,
        };
        var entity = await _shard.ChildActorOfAsync(RegistrationActor.Props(EntityId("idle"), environment));
        var registered = new FetchRegistered(
            _scope, "idle", _incarnation, [new FetchRequest(_origin.File("idle", 2_000), "GET", new Dictionary<string, string>(), null)],
            "title", [], 0, QuotaRemaining: 1L << 40, NotifyUrl: null, DateTimeOffset.UtcNow);
        entity.Tell(new CreateRegistration(EntityId("idle"), registered), _client);
        await _client.ExpectMsgAsync<RegistrationView>(Timeout);
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("idle"));

        // Reads for twice the idle time keep it alive; the passivation comes only after the last of them.
        var reading = Stopwatch.StartNew();
        var lastRead = Stopwatch.StartNew();
        while (reading.Elapsed < idle * 2)
        {
            Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(entity, "idle")).Result);
            lastRead.Restart();
            Assert.False(_shard.HasMessages, "the settled registration asked to passivate while it was being read");
            await Task.Delay(idle / 5);
        }

        var passivate = await _shard.FishForMessageAsync<Passivate>(_ => true, Timeout);
        var quiet = lastRead.Elapsed;
        Assert.True(quiet >= idle - TimeSpan.FromMilliseconds(100), $"passivated {quiet.TotalMilliseconds:F0} ms after its last read; SettledIdle is {idle.TotalMilliseconds} ms");

        // The shard stops it as asked; the next incarnation recovers the settled registration from the journal.
        entity.Tell(passivate.StopMessage, _shard);
        await StopAsync(entity);
        // A read that starts it again waits for the index's answer to the settlement it announces again: the caller saw it
        // settled before, and must not see it unsettled now.
        var again = await StartAsync("idle");
        again.Tell(new GetRegistration(EntityId("idle")), _client);
        AcknowledgeSettlement(again, await ExpectSettlementAnnouncedAsync("idle"));
        var view = await _client.ExpectMsgAsync<RegistrationView>(Timeout);
        Assert.Equal(BackgroundFetchResult.Success, view.Result);
        Assert.Equal(2_000, view.Downloaded);
    }
}
