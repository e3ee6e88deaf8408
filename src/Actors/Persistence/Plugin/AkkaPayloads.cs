using System.Runtime.InteropServices;
using Akka.Actor;
using AkkaSerialization = Akka.Serialization.Serialization;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// Payloads to and from the journal through Akka's own serialization: whichever serializer Akka binds
/// to the payload's type writes it, and its id and manifest are stored beside the bytes. That is what
/// lets our JSON events and Akka's protobuf ones (sharding's remember-entities) share one table.
/// </summary>
internal static class AkkaPayloads
{
    /// <summary>The payload's serializer id, manifest and bytes.</summary>
    /// <exception cref="Exception">Whatever the bound serializer throws: the caller rejects the write.</exception>
    public static (int SerializerId, string Manifest, byte[] Bytes) Serialize(ExtendedActorSystem system, object payload)
    {
        var serialization = system.Serialization;
        var serializer = serialization.FindSerializerFor(payload);
        var manifest = AkkaSerialization.ManifestFor(serializer, payload);

        // Actor references inside a payload must be written with the node's full remote address, or a
        // replay on another node would resolve them locally; Akka's own journals serialize the same way.
        var bytes = AkkaSerialization.WithTransport(system, (serializer, payload), static state => state.serializer.ToBinary(state.payload));
        return (serializer.Identifier, manifest, bytes);
    }

    /// <summary>The payload stored with <paramref name="serializerId"/> and <paramref name="manifest"/>.</summary>
    public static object Deserialize(ExtendedActorSystem system, int serializerId, string manifest, ReadOnlyMemory<byte> bytes)
    {
        if (serializerId == PersistentRepresentation.NoSerializerId)
        {
            throw new InvalidOperationException(
                $"A row with manifest '{manifest}' was written without a serializer id (by the old kernel or before schema version 2); Akka cannot read it.");
        }

        return system.Serialization.Deserialize(AsArray(bytes), serializerId, manifest);
    }

    private static byte[] AsArray(ReadOnlyMemory<byte> bytes) =>
        // The stores hand out whole arrays; copy only when the memory is a slice of something larger.
        MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Array is { } array && segment.Offset == 0 && segment.Count == array.Length
            ? array
            : bytes.ToArray();

    /// <summary>A UTC offset for an Akka timestamp, whose <see cref="DateTime.Kind"/> is often unspecified (and then UTC).</summary>
    public static DateTimeOffset ToUtcOffset(DateTime timestamp) => timestamp.Kind switch
    {
        DateTimeKind.Local => new DateTimeOffset(timestamp.ToUniversalTime(), TimeSpan.Zero),
        _ => new DateTimeOffset(DateTime.SpecifyKind(timestamp, DateTimeKind.Utc), TimeSpan.Zero),
    };
}
