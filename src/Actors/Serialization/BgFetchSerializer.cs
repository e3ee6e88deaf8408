using Akka.Actor;
using Akka.Serialization;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Serialization;

/// <summary>
/// The one Akka serializer of every message and event of the product that crosses the journal or the wire:
/// UTF-8 JSON from System.Text.Json source generation, under the stable manifest of each type's
/// <c>[SerializedName]</c> (never the CLR type name, so types can move without breaking a journal or a
/// rolling update).
/// </summary>
public sealed class BgFetchSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The serializer id; Akka reserves 0-100 for its own serializers, and an id must never change.</summary>
    public const int SerializerId = 4711;

    /// <summary>Every type this serializer handles, registered once per process.</summary>
    internal static EventSerializer Registry { get; } = new EventSerializer().RegisterFetchMessages();

    /// <summary>The types Akka binds to this serializer (<c>akka.actor.serialization-bindings</c>).</summary>
    public static IReadOnlyList<Type> BoundTypes => Registry.Types;

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => Registry.Serialize(obj).Payload;

    /// <inheritdoc />
    public override string Manifest(object o) => Registry.ManifestOf(o.GetType());

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => Registry.Deserialize(manifest, bytes);
}
