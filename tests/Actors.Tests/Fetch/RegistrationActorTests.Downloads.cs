using Akka.Actor;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// A record's download is a task of its registration, not a child actor (issue 17, cut 5): whatever ends the
/// registration's run (a stop, an abort, a hand-off) ends the download, and a hand-off still resumes with Range.
/// </summary>
public sealed partial class RegistrationActorTests
{
    [Fact]
    public async Task Stop_DownloadInFlight_RunsWithoutAChildActorAndTheOriginSeesItCancelled()
    {
        var (entity, _) = await CreateAsync("task", 0, _origin.File("task", 100_000, hold: 1_000));
        await AwaitRequestsAsync("task", 1);

        // The record used to be the child "record-0" of its registration; now nothing answers there.
        Assert.Equal(entity, (await Sys.ActorSelection(entity.Path).Ask<ActorIdentity>(new Identify("entity"), Timeout)).Subject);
        var child = await Sys.ActorSelection(entity.Path / "record-0").Ask<ActorIdentity>(new Identify("record"), Timeout);
        Assert.Null(child.Subject);

        // A child was stopped with its parent; the task is cancelled by the registration's PostStop.
        Assert.Equal(0, _origin.AbortedFor("task"));
        await StopAsync(entity);
        await AwaitAssertAsync(
            () => Assert.True(_origin.AbortedFor("task") == 1, $"expected the origin to see the held download closed once the registration stopped, saw {_origin.AbortedFor("task")}"),
            Timeout);
    }

    [Fact]
    public async Task Abort_DownloadInFlight_CancelsItBeforeTheSettlementIsVisible()
    {
        var (entity, _) = await CreateAsync("cancel", 0, _origin.File("cancel", 100_000, hold: 1_000));
        await AwaitRequestsAsync("cancel", 1);

        entity.Tell(new AbortRegistration(EntityId("cancel")), _client);
        var settled = await ExpectSettlementAnnouncedAsync("cancel");
        await AwaitAssertAsync(
            () => Assert.True(_origin.AbortedFor("cancel") == 1, $"expected the origin to see the held download closed by the abort, saw {_origin.AbortedFor("cancel")}"),
            Timeout);

        // The registration itself goes on: the abort is answered once the index acknowledges, and the record is aborted.
        AcknowledgeSettlement(entity, settled);
        Assert.True((await _client.ExpectMsgAsync<AbortReply>(Timeout)).Aborted);
        entity.Tell(new GetRecords(EntityId("cancel")), _client);
        Assert.Equal([RecordState.Aborted], (await _client.ExpectMsgAsync<RecordsReply>(Timeout)).Records.Select(r => r.State));
        Assert.Equal(1, _origin.RequestsFor("cancel"));
    }

    [Fact]
    public async Task HandOff_DownloadInFlight_CheckpointsStopsAndTheNextIncarnationResumesWithRange()
    {
        const int Size = 4_000_000;
        const int Held = 300_000;
        var (entity, _) = await CreateAsync("moved", 0, _origin.File("moved", Size, hold: Held));

        // Past 256 KiB the download reports its bytes: it is reading, and waits for the rest of the body.
        await AwaitAssertAsync(
            async () => Assert.True((await GetViewAsync(entity, "moved")).Downloaded >= 256 * 1024, "expected the held download to report its first bytes"),
            Timeout);

        var watcher = CreateTestProbe();
        watcher.Watch(entity);
        entity.Tell(RegistrationActor.HandOff.Instance, _shard);
        _origin.Open("moved");
        await watcher.ExpectTerminatedAsync(entity, Timeout);

        // The drain journaled a checkpoint past the held bytes before the entity stopped: the new owner asks for the rest.
        var again = await StartAsync("moved");
        await AwaitRequestsAsync("moved", 2);
        var range = _origin.Requests.Where(r => r.Name == "moved").Select(r => r.Range).Last();
        Assert.NotNull(range);
        var from = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(from, Held, Size - 1);

        var settled = await ExpectSettlementAnnouncedAsync("moved");
        Assert.Equal(Size, settled.StoredBytes);
        AcknowledgeSettlement(again, settled);
        again.Tell(new GetRecords(EntityId("moved")), _client);
        var record = Assert.Single((await _client.ExpectMsgAsync<RecordsReply>(Timeout)).Records);
        Assert.Equal(RecordState.Success, record.State);
        Assert.Equal(LoopbackOrigin.Sha256Of(Size), record.Response!.Sha256);
    }
}
