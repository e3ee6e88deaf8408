using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary><c>updateUI()</c> and the notices beside progress: UI updated, records released (issue 18).</summary>
public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task UpdateUi_Settled_IsJournaledPublishedAsANoticeAndRecovered()
    {
        var (entity, _) = await CreateAsync("ui", 0, _origin.File("ui", 100));
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("ui"));
        await _mediator.FishForMessageAsync<Publish>(p => p.Message is RegistrationProgress { Settled: true }, Timeout);

        entity.Tell(new UpdateRegistrationUi(EntityId("ui"), "Done", [new IconView("/done.png", "64x64")]), _client);
        var updated = await _client.ExpectMsgAsync<RegistrationView>(Timeout);
        var notice = (RegistrationProgress)(await _mediator.FishForMessageAsync<Publish>(p => p.Message is RegistrationProgress { UiUpdated: true }, Timeout)).Message;

        Assert.Equal("Done", updated.Title);
        Assert.Equal(BackgroundFetchResult.Success, updated.Result);
        Assert.False(notice.Settled, "a notice is never taken for the terminal event");
        Assert.False(notice.IsProgress);
        Assert.Equal("Done", notice.Registration.Title);

        entity.Tell(new UpdateRegistrationUi(EntityId("ui"), null, null), _client);
        Assert.Equal("Done", (await _client.ExpectMsgAsync<RegistrationView>(Timeout)).Title);

        await StopAsync(entity);
        var again = await StartAsync("ui");

        // Recovered as settled, it announces the settlement again and answers reads once the index has acknowledged it.
        AcknowledgeSettlement(again, await ExpectSettlementAnnouncedAsync("ui"));
        var recovered = await GetViewAsync(again, "ui");
        Assert.Equal("Done", recovered.Title);
        Assert.Equal([new IconView("/done.png", "64x64")], recovered.Icons);
    }

    [Fact]
    public async Task Release_Settled_PublishesTheReleasedNoticeWithRecordsAvailableFalse()
    {
        var (entity, _) = await CreateAsync("released", 0, _origin.File("released", 100));
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("released"));

        entity.Tell(new ReleaseRegistration(EntityId("released")), _client);
        await _client.ExpectMsgAsync<RecordsReleasedReply>(Timeout);
        var notice = (RegistrationProgress)(await _mediator.FishForMessageAsync<Publish>(p => p.Message is RegistrationProgress { Released: true }, Timeout)).Message;

        Assert.False(notice.Registration.RecordsAvailable);
        Assert.False(notice.IsProgress);
        Assert.Equal(BackgroundFetchResult.Success, notice.Registration.Result);
    }

    [Fact]
    public async Task UpdateUi_Released_AnswersNotFound()
    {
        var (entity, _) = await CreateAsync("ui-gone", 0, _origin.File("ui-gone", 100));
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("ui-gone"));
        entity.Tell(new ReleaseRegistration(EntityId("ui-gone")), _client);
        await _client.ExpectMsgAsync<RecordsReleasedReply>(Timeout);
        await _shard.FishForMessageAsync<Passivate>(_ => true, Timeout);

        entity.Tell(new UpdateRegistrationUi(EntityId("ui-gone"), "late", null), _client);
        Assert.Equal(new RegistrationNotFound(EntityId("ui-gone")), await _client.ExpectMsgAsync<RegistrationNotFound>(Timeout));

        await StopAsync(entity);
        var again = await StartAsync("ui-gone");
        again.Tell(new UpdateRegistrationUi(EntityId("ui-gone"), "late", null), _client);
        Assert.Equal(new RegistrationNotFound(EntityId("ui-gone")), await _client.ExpectMsgAsync<RegistrationNotFound>(Timeout));
    }
}
