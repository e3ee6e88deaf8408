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

    private T RoundTrip<T>(T message)
        where T : notnull
    {
        var serializer = Serializer;
        var bytes = serializer.ToBinary(message);
        return (T)serializer.FromBinary(bytes, serializer.Manifest(message));
    }
}
