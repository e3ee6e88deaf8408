using System.Text.Json.Serialization;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Serialization;

/// <summary>Source-generated JSON for every event, snapshot, command and reply of the fetch domain.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(FetchRegistered))]
[JsonSerializable(typeof(RecordResponseReceived))]
[JsonSerializable(typeof(RecordCheckpointed))]
[JsonSerializable(typeof(RecordRestarted))]
[JsonSerializable(typeof(RecordSettled))]
[JsonSerializable(typeof(RegistrationResumed))]
[JsonSerializable(typeof(RegistrationSettled))]
[JsonSerializable(typeof(RecordsReleased))]
[JsonSerializable(typeof(RegistrationUiUpdated))]
[JsonSerializable(typeof(UpdateRegistrationUi))]
[JsonSerializable(typeof(ScopeIdReserved))]
[JsonSerializable(typeof(ScopeReservationCancelled))]
[JsonSerializable(typeof(ScopeIdSettled))]
[JsonSerializable(typeof(ScopeIdReleased))]
[JsonSerializable(typeof(ScopeIndexSnapshot))]
[JsonSerializable(typeof(CreateRegistration))]
[JsonSerializable(typeof(GetRegistration))]
[JsonSerializable(typeof(AbortRegistration))]
[JsonSerializable(typeof(ReleaseRegistration))]
[JsonSerializable(typeof(GetRecords))]
[JsonSerializable(typeof(AwaitRecord))]
[JsonSerializable(typeof(RegistrationNotFound))]
[JsonSerializable(typeof(AbortReply))]
[JsonSerializable(typeof(RecordsReleasedReply))]
[JsonSerializable(typeof(RecordsReply))]
[JsonSerializable(typeof(RecordReady))]
[JsonSerializable(typeof(RegistrationProgress))]
[JsonSerializable(typeof(RegistrationView))]
[JsonSerializable(typeof(ReserveId))]
[JsonSerializable(typeof(IdReserved))]
[JsonSerializable(typeof(ReservationRefused))]
[JsonSerializable(typeof(ConfirmReservation))]
[JsonSerializable(typeof(ReservationConfirmed))]
[JsonSerializable(typeof(ReserveAndCreate))]
[JsonSerializable(typeof(ReservationNotice))]
[JsonSerializable(typeof(ReservationLost))]
[JsonSerializable(typeof(CancelReservation))]
[JsonSerializable(typeof(ResolveId))]
[JsonSerializable(typeof(IdResolved))]
[JsonSerializable(typeof(GetActiveIds))]
[JsonSerializable(typeof(ActiveIds))]
[JsonSerializable(typeof(MarkIdSettled))]
[JsonSerializable(typeof(IdSettledAck))]
[JsonSerializable(typeof(MarkIdReleased))]
[JsonSerializable(typeof(WakeRegistration))]
[JsonSerializable(typeof(RegistrationAwake))]
[JsonSerializable(typeof(WakeAgain))]
internal sealed partial class FetchJsonContext : JsonSerializerContext;

/// <summary>Registers the fetch domain's messages with an <see cref="EventSerializer"/>.</summary>
public static class FetchSerialization
{
    /// <summary>
    /// Adds every fetch event, snapshot, command and reply that crosses the journal or the wire, each under
    /// the stable manifest of its <c>[SerializedName]</c>.
    /// </summary>
    public static EventSerializer RegisterFetchMessages(this EventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        var context = FetchJsonContext.Default;
        return serializer
            .Register(context.FetchRegistered)
            .Register(context.RecordResponseReceived)
            .Register(context.RecordCheckpointed)
            .Register(context.RecordRestarted)
            .Register(context.RecordSettled)
            .Register(context.RegistrationResumed)
            .Register(context.RegistrationSettled)
            .Register(context.RecordsReleased)
            .Register(context.RegistrationUiUpdated)
            .Register(context.UpdateRegistrationUi)
            .Register(context.ScopeIdReserved)
            .Register(context.ScopeReservationCancelled)
            .Register(context.ScopeIdSettled)
            .Register(context.ScopeIdReleased)
            .Register(context.ScopeIndexSnapshot)
            .Register(context.CreateRegistration)
            .Register(context.GetRegistration)
            .Register(context.AbortRegistration)
            .Register(context.ReleaseRegistration)
            .Register(context.GetRecords)
            .Register(context.AwaitRecord)
            .Register(context.RegistrationNotFound)
            .Register(context.AbortReply)
            .Register(context.RecordsReleasedReply)
            .Register(context.RecordsReply)
            .Register(context.RecordReady)
            .Register(context.RegistrationProgress)
            .Register(context.RegistrationView)
            .Register(context.ReserveId)
            .Register(context.IdReserved)
            .Register(context.ReservationRefused)
            .Register(context.ConfirmReservation)
            .Register(context.ReservationConfirmed)
            .Register(context.ReserveAndCreate)
            .Register(context.ReservationNotice)
            .Register(context.ReservationLost)
            .Register(context.CancelReservation)
            .Register(context.ResolveId)
            .Register(context.IdResolved)
            .Register(context.GetActiveIds)
            .Register(context.ActiveIds)
            .Register(context.MarkIdSettled)
            .Register(context.IdSettledAck)
            .Register(context.MarkIdReleased)
            .Register(context.WakeRegistration)
            .Register(context.RegistrationAwake)
            .Register(context.WakeAgain);
    }
}
