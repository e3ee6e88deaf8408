namespace BgFetchCluster.Actors.Persistence;

/// <summary>One journal row: an event of one persistent entity at one sequence number.</summary>
/// <param name="PersistenceId">The entity's persistence id.</param>
/// <param name="SequenceNr">1-based, gap-free position of the event in the entity's history.</param>
/// <param name="SerializerId">
/// The Akka serializer that wrote <paramref name="Payload"/> (events of several serializers share the
/// journal: ours and Akka's own, such as sharding's remember-entities); <see cref="NoSerializerId"/> when unknown.
/// </param>
/// <param name="Manifest">The serializer's manifest: the stable serialized name of the payload's type.</param>
/// <param name="Payload">The serialized event.</param>
/// <param name="WriterUuid">The incarnation of the actor that wrote the event (Akka's writer GUID, a string).</param>
/// <param name="Created">When the event was written (the writer's clock).</param>
public sealed record PersistentRepresentation(
    string PersistenceId,
    long SequenceNr,
    int SerializerId,
    string Manifest,
    ReadOnlyMemory<byte> Payload,
    string WriterUuid,
    DateTimeOffset Created)
{
    /// <summary>
    /// The serializer id of rows written without one: before schema version 2, or by the old kernel's
    /// own event serializer. Akka reserves 0 for its null serializer, so a negative number marks "none".
    /// </summary>
    public const int NoSerializerId = -1;

    /// <inheritdoc />
    public override string ToString() => $"{PersistenceId}#{SequenceNr} ({Manifest}, {Payload.Length} bytes)";
}

/// <summary>
/// Events of one entity that are written all or nothing (one <c>Persist</c> or <c>PersistAll</c>).
/// Sequence numbers are consecutive and all events share one persistence id.
/// </summary>
public sealed record AtomicWrite(IReadOnlyList<PersistentRepresentation> Events)
{
    /// <summary>The persistence id shared by every event of the write.</summary>
    public string PersistenceId => Events[0].PersistenceId;

    /// <summary>The lowest sequence number in the write.</summary>
    public long LowestSequenceNr => Events[0].SequenceNr;

    /// <summary>The highest sequence number in the write.</summary>
    public long HighestSequenceNr => Events[^1].SequenceNr;

    /// <inheritdoc />
    public override string ToString() => $"AtomicWrite({PersistenceId} #{LowestSequenceNr}..{HighestSequenceNr})";
}
