using System.Text;
using BgFetchCluster.Actors.Serialization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>The fetch events as the journal stores them: byte arrays keep the difference between none and empty.</summary>
public sealed class FetchSerializationTests
{
    private readonly EventSerializer _serializer = new EventSerializer().RegisterFetchMessages();

    [Fact]
    public void RecordSettled_NoInlineBody_StaysNoBodyAndIsLeftOutOfTheJson()
    {
        var (manifest, payload) = _serializer.Serialize(new RecordSettled(0, RecordState.Success, 5000, "abc", null));

        Assert.DoesNotContain("\"body\"", Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
        Assert.Null(((RecordSettled)_serializer.Deserialize(manifest, payload)).Body);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4096)]
    public void RecordSettled_InlineBody_RoundTripsByteExact(int length)
    {
        var body = Enumerable.Range(0, length).Select(static i => (byte)(i * 31 + 7)).ToArray();
        var (manifest, payload) = _serializer.Serialize(new RecordSettled(3, RecordState.Success, length, "abc", null, body));

        var read = (RecordSettled)_serializer.Deserialize(manifest, payload);

        Assert.Equal(body, read.Body);
    }

    [Fact]
    public void FetchRegistered_GetWithoutBody_ReplaysWithoutBody()
    {
        var registered = new FetchRegistered(
            "scope", "id", "incarnation",
            [new FetchRequest("http://example.com/", "GET", new Dictionary<string, string>(), null), new FetchRequest("http://example.com/", "POST", new Dictionary<string, string>(), [])],
            "title", [], 0, long.MaxValue, null, DateTimeOffset.UnixEpoch);
        var (manifest, payload) = _serializer.Serialize(registered);

        var read = (FetchRegistered)_serializer.Deserialize(manifest, payload);

        Assert.Null(read.Requests[0].Body);
        Assert.Equal(0, read.Requests[1].Body?.Length);
    }
}
