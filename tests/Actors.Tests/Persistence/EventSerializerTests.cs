using System.Runtime.Serialization;
using System.Text;
using System.Text.Json.Serialization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Tests.Persistence;

[SerializedName("test.thing-happened.v1")]
public sealed record ThingHappened(string Name, int Count);

public sealed record WithoutSerializedName(int Value);

[SerializedName("test.never-registered.v1")]
public sealed record NeverRegistered(string Name);

[JsonSerializable(typeof(ThingHappened))]
[JsonSerializable(typeof(WithoutSerializedName))]
internal sealed partial class TestEventsContext : JsonSerializerContext;

public sealed class EventSerializerTests
{
    private readonly EventSerializer _serializer = new EventSerializer()
        .Register(TestEventsContext.Default.ThingHappened)
        .Register("test.without-name.v1", TestEventsContext.Default.WithoutSerializedName);

    [Fact]
    public void Serialize_RegisteredEvent_UsesItsSerializedNameAndRoundTrips()
    {
        var (manifest, payload) = _serializer.Serialize(new ThingHappened("a", 3));

        Assert.Equal("test.thing-happened.v1", manifest);
        Assert.Equal(new ThingHappened("a", 3), _serializer.Deserialize(manifest, payload));
    }

    [Fact]
    public void Serialize_ExplicitManifest_UsesThatManifestAndRoundTrips()
    {
        var (manifest, payload) = _serializer.Serialize(new WithoutSerializedName(7));

        Assert.Equal("test.without-name.v1", manifest);
        Assert.Equal(new WithoutSerializedName(7), _serializer.Deserialize(manifest, payload));
    }

    [Fact]
    public void Serialize_UnregisteredType_ThrowsJournalRejectionException()
    {
        var rejected = Assert.Throws<JournalRejectionException>(() => _serializer.Serialize(new NeverRegistered("x")));

        Assert.Contains(nameof(NeverRegistered), rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_TypeWithoutSerializedName_ThrowsInvalidOperationException()
    {
        Assert.Throws<InvalidOperationException>(() => new EventSerializer().Register(TestEventsContext.Default.WithoutSerializedName));
    }

    [Fact]
    public void Register_ManifestTakenByAnotherType_ThrowsInvalidOperationException()
    {
        Assert.Throws<InvalidOperationException>(
            () => _serializer.Register("test.thing-happened.v1", TestEventsContext.Default.WithoutSerializedName));
    }

    [Fact]
    public void Deserialize_UnknownManifest_ThrowsSerializationException()
    {
        Assert.Throws<SerializationException>(() => _serializer.Deserialize("test.unknown.v1", "{}"u8));
    }

    [Fact]
    public void Deserialize_MalformedPayload_ThrowsSerializationException()
    {
        Assert.Throws<SerializationException>(
            () => _serializer.Deserialize("test.thing-happened.v1", Encoding.UTF8.GetBytes("{\"Count\":\"not a number\"}")));
    }
}
