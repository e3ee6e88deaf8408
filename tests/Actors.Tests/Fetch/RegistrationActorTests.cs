using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task Create_RecordsDownload_SettlementVisibleOnlyOnceTheIndexAcknowledges()
    {
        // downloadTotal exactly reached is not exceeded.
        var (entity, created) = await CreateAsync("ok", 13_000, _origin.File("a", 10_000), _origin.File("b", 3_000));
        Assert.Equal(BackgroundFetchResult.None, created.Result);
        Assert.Equal(2, created.RequestCount);

        var settled = await ExpectSettlementAnnouncedAsync("ok");
        Assert.Equal(new MarkIdSettled(ScopeIndexActor.EntityIdFor(_scope), "ok", _incarnation, 13_000), settled);

        // Settled in the journal, but not visible while the index has not freed the id.
        var hidden = await GetViewAsync(entity, "ok");
        Assert.Equal(BackgroundFetchResult.None, hidden.Result);
        Assert.Null(hidden.SettledAt);
        Assert.Equal(13_000, hidden.Downloaded);
        Assert.DoesNotContain(await PublishedSoFarAsync("ok"), p => p.Settled);

        AcknowledgeSettlement(entity, settled);
        var visible = await GetViewAsync(entity, "ok");
        Assert.Equal(BackgroundFetchResult.Success, visible.Result);
        Assert.Equal(BackgroundFetchFailureReason.None, visible.FailureReason);
        Assert.NotNull(visible.SettledAt);
        var final = await _mediator.FishForMessageAsync<Publish>(p => p.Message is RegistrationProgress { Settled: true }, Timeout);
        Assert.Equal(RegistrationActor.TopicFor(EntityId("ok")), final.Topic);
        Assert.Equal(BackgroundFetchResult.Success, ((RegistrationProgress)final.Message).Registration.Result);

        entity.Tell(new GetRecords(EntityId("ok")), _client);
        var records = (await _client.ExpectMsgAsync<RecordsReply>(Timeout)).Records;
        Assert.Equal([RecordState.Success, RecordState.Success], records.Select(r => r.State));
        Assert.Equal([10_000L, 3_000L], records.Select(r => r.Response!.Size));
        Assert.Equal(LoopbackOrigin.Sha256Of(10_000), records[0].Response!.Sha256);
    }

    [Fact]
    public async Task AwaitRecord_RecordInFlight_AnswersOnceItSettles()
    {
        var (entity, _) = await CreateAsync("await", 0, _origin.File("await-0", 10_000, hold: 5_000), _origin.File("await-1", 10_000, hold: 5_000));
        await AwaitRequestsAsync("await-0", 1);

        // Not answered at once: the view asked for after it arrives first.
        entity.Tell(new AwaitRecord(EntityId("await"), 0), _client);
        await GetViewAsync(entity, "await");

        _origin.Open("await-0");
        var ready = await _client.ExpectMsgAsync<RecordReady>(Timeout);
        Assert.Equal(0, ready.Record.Index);
        Assert.Equal(RecordState.Success, ready.Record.State);
        Assert.Equal(10_000, ready.Record.Response!.Size);
        Assert.True(ready.RecordsAvailable);

        // The registration is still active (record 1 is held); a settled record is answered at once, an unknown one never waits.
        Assert.Equal(BackgroundFetchResult.None, (await GetViewAsync(entity, "await")).Result);
        entity.Tell(new AwaitRecord(EntityId("await"), 0), _client);
        Assert.Equal(0, (await _client.ExpectMsgAsync<RecordReady>(Timeout)).Record.Index);
        entity.Tell(new AwaitRecord(EntityId("await"), 2), _client);
        await _client.ExpectMsgAsync<RegistrationNotFound>(Timeout);

        _origin.Open("await-1");
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("await"));
        Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(entity, "await")).Result);
    }

    [Fact]
    public async Task Abort_WhileActive_AnswersTrueOnceVisibleThenFalse()
    {
        var (entity, _) = await CreateAsync("abort", 0, _origin.File("abort-done", 2_000), _origin.File("abort-held", 100_000, hold: 1_000));
        entity.Tell(new AwaitRecord(EntityId("abort"), 0), _client);
        Assert.Equal(RecordState.Success, (await _client.ExpectMsgAsync<RecordReady>(Timeout)).Record.State);
        await AwaitRequestsAsync("abort-held", 1);

        entity.Tell(new AbortRegistration(EntityId("abort")), _client);
        var settled = await ExpectSettlementAnnouncedAsync("abort");

        // The answer waits, like the settlement, until the index has freed the id.
        Assert.Equal(BackgroundFetchResult.None, (await GetViewAsync(entity, "abort")).Result);
        AcknowledgeSettlement(entity, settled);
        Assert.True((await _client.ExpectMsgAsync<AbortReply>(Timeout)).Aborted);

        entity.Tell(new AbortRegistration(EntityId("abort")), _client);
        Assert.False((await _client.ExpectMsgAsync<AbortReply>(Timeout)).Aborted);
        var view = await GetViewAsync(entity, "abort");
        Assert.Equal(BackgroundFetchResult.Failure, view.Result);
        Assert.Equal(BackgroundFetchFailureReason.Aborted, view.FailureReason);
        entity.Tell(new GetRecords(EntityId("abort")), _client);
        Assert.Equal([RecordState.Success, RecordState.Aborted], (await _client.ExpectMsgAsync<RecordsReply>(Timeout)).Records.Select(r => r.State));
    }

    [Fact]
    public async Task DownloadTotal_StrictlyExceeded_FailsAtOnceWhileOtherRecordsAreInFlight()
    {
        // The second record is held before its first byte: the registration cannot wait for it.
        var (entity, _) = await CreateAsync("over", 10_000, _origin.File("over-a", 10_001), _origin.File("over-held", 100_000, hold: 0));

        var settled = await ExpectSettlementAnnouncedAsync("over");
        AcknowledgeSettlement(entity, settled);

        var view = await GetViewAsync(entity, "over");
        Assert.Equal(BackgroundFetchResult.Failure, view.Result);
        Assert.Equal(BackgroundFetchFailureReason.DownloadTotalExceeded, view.FailureReason);
        entity.Tell(new GetRecords(EntityId("over")), _client);
        Assert.All((await _client.ExpectMsgAsync<RecordsReply>(Timeout)).Records, r => Assert.Equal(RecordState.DownloadTotalExceeded, r.State));
    }

    [Fact]
    public async Task Restart_Settled_RecoversSettledAndFetchesNothingAgain()
    {
        var (entity, _) = await CreateAsync("keep", 0, _origin.File("keep", 5_000));
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("keep"));
        Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(entity, "keep")).Result);
        await StopAsync(entity);

        // The index may not have heard of the settlement before a crash: the next incarnation tells it again.
        var again = await StartAsync("keep");
        AcknowledgeSettlement(again, await ExpectSettlementAnnouncedAsync("keep"));

        var view = await GetViewAsync(again, "keep");
        Assert.Equal(BackgroundFetchResult.Success, view.Result);
        Assert.Equal(5_000, view.Downloaded);
        Assert.Equal(1, _origin.RequestsFor("keep"));
    }

    [Fact]
    public async Task Restart_Active_RestartsItsRecordsAndSettles()
    {
        var (entity, _) = await CreateAsync("resume", 0, _origin.File("resume", 200_000, hold: 100_000));
        await AwaitRequestsAsync("resume", 1);
        await StopAsync(entity);

        var again = await StartAsync("resume");
        Assert.Equal(BackgroundFetchResult.None, (await GetViewAsync(again, "resume")).Result);
        await AwaitRequestsAsync("resume", 2);
        _origin.Open("resume");

        var settled = await ExpectSettlementAnnouncedAsync("resume");
        Assert.Equal(200_000, settled.StoredBytes);
        AcknowledgeSettlement(again, settled);
        Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(again, "resume")).Result);
        again.Tell(new GetRecords(EntityId("resume")), _client);
        var record = Assert.Single((await _client.ExpectMsgAsync<RecordsReply>(Timeout)).Records);
        Assert.Equal(LoopbackOrigin.Sha256Of(200_000), record.Response!.Sha256);
    }

    [Fact]
    public async Task Release_Settled_TellsTheIndexAnswersAndIsGoneForGood()
    {
        var (entity, _) = await CreateAsync("release", 0, _origin.File("release", 5_000));
        AcknowledgeSettlement(entity, await ExpectSettlementAnnouncedAsync("release"));
        Assert.Equal(BackgroundFetchResult.Success, (await GetViewAsync(entity, "release")).Result);
        Assert.NotEmpty(Directory.GetFiles(_bodies, "*", SearchOption.AllDirectories));

        entity.Tell(new ReleaseRegistration(EntityId("release")), _client);
        Assert.Equal(new RecordsReleasedReply(EntityId("release")), await _client.ExpectMsgAsync<RecordsReleasedReply>(Timeout));
        var released = await _index.FishForMessageAsync<MarkIdReleased>(_ => true, Timeout);
        Assert.Equal(new MarkIdReleased(ScopeIndexActor.EntityIdFor(_scope), "release", _incarnation), released);
        await _shard.FishForMessageAsync<Passivate>(_ => true, Timeout);
        Assert.Empty(Directory.GetFiles(_bodies, "*", SearchOption.AllDirectories));

        entity.Tell(new GetRegistration(EntityId("release")), _client);
        await _client.ExpectMsgAsync<RegistrationNotFound>(Timeout);

        // The release is durable: the next incarnation knows the registration is gone.
        await StopAsync(entity);
        var again = await StartAsync("release");
        again.Tell(new GetRegistration(EntityId("release")), _client);
        await _client.ExpectMsgAsync<RegistrationNotFound>(Timeout);
        again.Tell(new ReleaseRegistration(EntityId("release")), _client);
        await _client.ExpectMsgAsync<RegistrationNotFound>(Timeout);
    }
}
