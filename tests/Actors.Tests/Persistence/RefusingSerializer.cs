using Akka.Actor;
using Akka.Serialization;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>An event no serializer can write: bound to <see cref="RefusingSerializer"/> by the test config.</summary>
public sealed record Unserializable(string Reason);

/// <summary>A serializer that refuses everything, to drive the journal's rejection path deterministically.</summary>
public sealed class RefusingSerializer(ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => 4713;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new InvalidOperationException($"{obj.GetType().Name} is deliberately unserializable.");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new InvalidOperationException("Nothing was ever serialized by this serializer.");
}
