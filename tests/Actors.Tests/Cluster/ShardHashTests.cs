using BgFetchCluster.Actors.Cluster.Sharding;

namespace BgFetchCluster.Actors.Tests.Cluster;

public sealed class ShardHashTests
{
    // Pinned values (computed independently: Python hashlib.sha256, first 4 bytes big-endian, mod n).
    // If one of these changes, every remembered entity in every deployed journal moves shard.
    [Theory]
    [InlineData("registration-1", 32, 20)]
    [InlineData("scope/fetch-42", 32, 11)]
    [InlineData("élan vital", 32, 14)]
    [InlineData("a b c", 32, 3)]
    [InlineData("", 32, 2)]
    [InlineData("registration-1", 10, 8)]
    public void ShardOf_KnownIds_MapToPinnedShards(string entityId, int numberOfShards, int expected) =>
        Assert.Equal(expected, ShardHash.ShardOf(entityId, numberOfShards));

    [Fact]
    public void ShardOf_ManyIds_StaysInRangeAndUsesEveryShard()
    {
        var shards = Enumerable.Range(0, 1000).Select(i => ShardHash.ShardOf($"id-{i}", 32)).ToArray();

        Assert.All(shards, s => Assert.InRange(s, 0, 31));
        Assert.Equal(32, shards.Distinct().Count());
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("$x")]
    [InlineData("日本語 id")]
    [InlineData("..")]
    public void ChildNameFor_AwkwardIds_IsAValidActorName(string entityId)
    {
        var name = Shard.ChildNameFor(entityId);

        Assert.DoesNotContain('/', name);
        Assert.False(name.StartsWith('$'));
        Assert.Equal(entityId, Uri.UnescapeDataString(name));
    }
}
