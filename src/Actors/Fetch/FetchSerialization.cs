using System.Text.Json.Serialization;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>Source-generated JSON for every event and snapshot of the fetch domain.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(FetchRegistered))]
[JsonSerializable(typeof(RecordResponseReceived))]
[JsonSerializable(typeof(RecordCheckpointed))]
[JsonSerializable(typeof(RecordRestarted))]
[JsonSerializable(typeof(RecordSettled))]
[JsonSerializable(typeof(RegistrationSettled))]
[JsonSerializable(typeof(RecordsReleased))]
[JsonSerializable(typeof(ScopeIdReserved))]
[JsonSerializable(typeof(ScopeReservationCancelled))]
[JsonSerializable(typeof(ScopeIdSettled))]
[JsonSerializable(typeof(ScopeIdReleased))]
[JsonSerializable(typeof(ScopeIndexSnapshot))]
internal sealed partial class FetchJsonContext : JsonSerializerContext;

/// <summary>Registers the fetch domain's events with an <see cref="EventSerializer"/>.</summary>
public static class FetchSerialization
{
    /// <summary>Adds every fetch event and snapshot type under its stable manifest.</summary>
    public static EventSerializer RegisterFetchEvents(this EventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        var context = FetchJsonContext.Default;
        return serializer
            .Register(context.FetchRegistered)
            .Register(context.RecordResponseReceived)
            .Register(context.RecordCheckpointed)
            .Register(context.RecordRestarted)
            .Register(context.RecordSettled)
            .Register(context.RegistrationSettled)
            .Register(context.RecordsReleased)
            .Register(context.ScopeIdReserved)
            .Register(context.ScopeReservationCancelled)
            .Register(context.ScopeIdSettled)
            .Register(context.ScopeIdReleased)
            .Register(context.ScopeIndexSnapshot);
    }
}
