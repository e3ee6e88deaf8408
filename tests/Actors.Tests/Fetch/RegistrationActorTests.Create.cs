using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>A creation forwarded by the scope index: answered after the entity's write and the index's durable notice.</summary>
public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task Create_AwaitingTheReservation_IsAnsweredOnlyOnceTheIndexSaysItIsDurable()
    {
        var entity = await StartAsync("wait");
        entity.Tell(new CreateRegistration(EntityId("wait"), Registered("wait", _origin.File("wait", 1_000)), AwaitReservation: true), _client);

        // The definition is journaled (a command after the create is answered only after its write), the creator is not
        // answered: the index has not said that the reservation is durable.
        var other = CreateTestProbe();
        entity.Tell(new GetRegistration(EntityId("wait")), other);
        Assert.Equal("wait", (await other.ExpectMsgAsync<RegistrationView>(Timeout)).Id);
        Assert.False(_client.HasMessages, "the creator was answered before the index's durable notice");

        entity.Tell(new ReservationNotice(EntityId("wait"), Durable: true), _index);
        Assert.Equal("wait", (await _client.ExpectMsgAsync<RegistrationView>(Timeout)).Id);

        // A retried create of the same incarnation is answered at once.
        entity.Tell(new CreateRegistration(EntityId("wait"), Registered("wait", _origin.File("wait", 1_000)), AwaitReservation: true), _client);
        Assert.Equal("wait", (await _client.ExpectMsgAsync<RegistrationView>(Timeout)).Id);
    }

    [Fact]
    public async Task Create_NoticeArrivesBeforeTheCreate_IsRememberedAndTheCreateIsAnsweredAfterItsWrite()
    {
        var entity = await StartAsync("early");
        entity.Tell(new ReservationNotice(EntityId("early"), Durable: true), _index);
        entity.Tell(new CreateRegistration(EntityId("early"), Registered("early", _origin.File("early", 1_000)), AwaitReservation: true), _client);

        var view = await _client.ExpectMsgAsync<RegistrationView>(Timeout);
        Assert.Equal("early", view.Id);
        Assert.Equal(BackgroundFetchResult.None, view.Result);
    }

    [Fact]
    public async Task Create_ReservationLost_AbortsTheRegistrationAndAnswersTheCreatorWithTheLoss()
    {
        var entity = await StartAsync("lost");
        entity.Tell(new CreateRegistration(EntityId("lost"), Registered("lost", _origin.File("lost", 10_000, hold: 1_000)), AwaitReservation: true), _client);
        await AwaitRequestsAsync("lost", 1);

        entity.Tell(new ReservationNotice(EntityId("lost"), Durable: false), _index);
        Assert.Equal(new ReservationLost("lost", _incarnation), await _client.ExpectMsgAsync<ReservationLost>(Timeout));

        // Aborted, as the creator used to do itself: it settles and tells the index, which frees what it still holds.
        var settled = await ExpectSettlementAnnouncedAsync("lost");
        AcknowledgeSettlement(entity, settled);
        var view = await GetViewAsync(entity, "lost");
        Assert.Equal(BackgroundFetchResult.Failure, view.Result);
        Assert.Equal(BackgroundFetchFailureReason.Aborted, view.FailureReason);
    }

    [Fact]
    public async Task Create_LostNoticeBeforeTheCreate_StartsNoDownloadAndAnswersWithTheLoss()
    {
        var entity = await StartAsync("gone");
        entity.Tell(new ReservationNotice(EntityId("gone"), Durable: false), _index);
        entity.Tell(new CreateRegistration(EntityId("gone"), Registered("gone", _origin.File("gone", 1_000)), AwaitReservation: true), _client);

        Assert.Equal(new ReservationLost("gone", _incarnation), await _client.ExpectMsgAsync<ReservationLost>(Timeout));
        var settled = await ExpectSettlementAnnouncedAsync("gone");
        AcknowledgeSettlement(entity, settled);
        Assert.Equal(BackgroundFetchFailureReason.Aborted, (await GetViewAsync(entity, "gone")).FailureReason);
        Assert.Equal(0, _origin.RequestsFor("gone"));
    }

    private FetchRegistered Registered(string id, params string[] urls) =>
        new(
            _scope, id, _incarnation,
            [.. urls.Select(static url => new FetchRequest(url, "GET", new Dictionary<string, string>(), null))],
            "title", [], 0, QuotaRemaining: 1L << 40, NotifyUrl: null, DateTimeOffset.UtcNow);
}
