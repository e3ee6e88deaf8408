using Akka.Actor;
using BgFetchCluster.Actors.Serialization;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Serialization;

/// <summary>The product's Akka serializer as messages cross the wire between nodes.</summary>
public sealed class BgFetchSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly RecordView Record = new(
        0,
        new RequestView("http://origin.test/a", "GET", new Dictionary<string, string>()),
        RecordState.Success,
        new ResponseView(200, "OK", "http://origin.test/a", new Dictionary<string, string> { ["content-type"] = "text/plain" }, 5, "abc", "/v1/registrations/x/records/0/body"));

    private BgFetchSerializer Serializer => new((ExtendedActorSystem)Sys);

    [Fact]
    public void RecordReady_WithoutInlineBody_CrossesTheWireWithoutOne()
    {
        var read = RoundTrip(new RecordReady(Record, RecordsAvailable: true));

        Assert.Null(read.InlineBody);
        Assert.Equal(Record.Response!.Sha256, read.Record.Response?.Sha256);
        Assert.Equal("text/plain", read.Record.Response?.Headers["content-type"]);
    }

    [Fact]
    public void RecordReady_WithAnEmptyInlineBody_StaysEmpty()
    {
        var read = RoundTrip(new RecordReady(Record, RecordsAvailable: true, InlineBody: []));

        Assert.NotNull(read.InlineBody);
        Assert.Empty(read.InlineBody);
    }

    [Fact]
    public void Manifest_IsTheSerializedNameOfEveryBoundType()
    {
        foreach (var type in BgFetchSerializer.BoundTypes)
        {
            var name = type.GetCustomAttributes(typeof(SerializedNameAttribute), inherit: false).Cast<SerializedNameAttribute>().Single().Name;
            Assert.StartsWith("bgfetch.", name, StringComparison.Ordinal);
        }

        Assert.Equal(BgFetchSerializer.BoundTypes.Count, BgFetchSerializer.BoundTypes.Distinct().Count());
    }

    [Fact]
    public void Commands_RoundTripThroughAkkaSerialization()
    {
        var reserve = new ReserveId("scope", "id", "incarnation", 10, 20, 1000, 5);

        Assert.Equal(reserve, RoundTrip(reserve));
        Assert.Equal(new IdResolved("id", null), RoundTrip(new IdResolved("id", null)));
    }

    [Fact]
    public void CreationMessages_RoundTripThroughAkkaSerialization()
    {
        var registered = new FetchRegistered(
            "scope", "id", "incarnation",
            [new FetchRequest("http://origin.test/a", "POST", new Dictionary<string, string> { ["content-type"] = "text/plain" }, [1, 2, 3])],
            "title", [new IconView("/icon.png", "32x32", "image/png", null)], 10, QuotaRemaining: 0, "http://notify.test/", DateTimeOffset.UnixEpoch, "http://origin.test/");

        var create = RoundTrip(new ReserveAndCreate("scope", 1000, 5, registered));
        Assert.Equal(("scope", 1000L, 5), (create.EntityId, create.QuotaBytes, create.MaxActive));
        Assert.Equal(registered.ToString(), create.Registration.ToString());
        Assert.Equal([1, 2, 3], create.Registration.Requests[0].Body);
        Assert.Equal(3, create.Registration.UploadTotal);
        Assert.Equal("http://origin.test/", create.Registration.BaseUrl);

        var forwarded = RoundTrip(new CreateRegistration("scope/id/incarnation", registered, AwaitReservation: true));
        Assert.True(forwarded.AwaitReservation);
        Assert.Equal(new ReservationNotice("scope/id/incarnation", Durable: false), RoundTrip(new ReservationNotice("scope/id/incarnation", Durable: false)));
        Assert.Equal(new ReservationLost("id", "incarnation"), RoundTrip(new ReservationLost("id", "incarnation")));
    }

    [Fact]
    public void CreateRegistration_FromANodeWithoutTheFlag_IsReadAsNotAwaitingTheReservation()
    {
        var serializer = Serializer;
        var old = new CreateRegistration("scope/id/incarnation", new FetchRegistered(
            "scope", "id", "incarnation", [], "title", [], 0, 5, null, DateTimeOffset.UnixEpoch));
        var json = System.Text.Json.Nodes.JsonNode.Parse(serializer.ToBinary(old))!.AsObject();
        Assert.True(json.Remove("awaitReservation"));

        var read = (CreateRegistration)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), "bgfetch.registration.create.v1");

        Assert.False(read.AwaitReservation);
        Assert.Equal(5, read.Registration.QuotaRemaining);
    }

    private T RoundTrip<T>(T message)
        where T : notnull
    {
        var serializer = Serializer;
        var bytes = serializer.ToBinary(message);
        return (T)serializer.FromBinary(bytes, serializer.Manifest(message));
    }
}
