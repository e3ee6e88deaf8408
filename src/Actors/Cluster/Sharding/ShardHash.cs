using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace BgFetchCluster.Actors.Cluster.Sharding;

/// <summary>
/// Maps an entity id to its shard. The mapping must be the same on every node, process and version,
/// so it is a cryptographic hash of the id's UTF-8 bytes and never <see cref="string.GetHashCode()"/>
/// (randomized per process).
/// </summary>
public static class ShardHash
{
    /// <summary>
    /// The shard of <paramref name="entityId"/>: the first four bytes of SHA-256(UTF-8 id), read as a
    /// big-endian unsigned integer, modulo <paramref name="numberOfShards"/>.
    /// </summary>
    public static int ShardOf(string entityId, int numberOfShards)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        ArgumentOutOfRangeException.ThrowIfLessThan(numberOfShards, 1);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(entityId), hash);
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % (uint)numberOfShards);
    }

    /// <summary>The shard id (as used in stats and persistence ids) of <paramref name="entityId"/>.</summary>
    public static string ShardIdOf(string entityId, int numberOfShards) =>
        ShardOf(entityId, numberOfShards).ToString(CultureInfo.InvariantCulture);
}
