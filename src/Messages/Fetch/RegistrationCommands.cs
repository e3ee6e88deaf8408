using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>
/// Starts a registration entity with its accepted registration; replies <see cref="RegistrationView"/>. With
/// <see cref="AwaitReservation"/> (sent by the scope index for <see cref="ReserveAndCreate"/>) the reply waits for the
/// index's <see cref="ReservationNotice"/> too, and is <see cref="ReservationLost"/> when the reservation was lost.
/// The flag is a new JSON property with a default: a node without it reads the message as before.
/// </summary>
[SerializedName("bgfetch.registration.create.v1")]
public sealed record CreateRegistration(string EntityId, FetchRegistered Registration, bool AwaitReservation = false) : ICommand, IEntityMessage;

/// <summary>
/// The scope index's word to a registration created through <see cref="ReserveAndCreate"/>: its reservation is
/// durable, or (<see cref="Durable"/> false) lost because the index's journal write failed.
/// </summary>
[SerializedName("bgfetch.registration.reservation-notice.v1")]
public sealed record ReservationNotice(string EntityId, bool Durable) : ICommand, IEntityMessage;

/// <summary>
/// The answer to <see cref="ReserveAndCreate"/> when the index lost the reservation: the registration has aborted
/// itself, and the creation failed.
/// </summary>
[SerializedName("bgfetch.registration.reservation-lost.v1")]
public sealed record ReservationLost(string Id, string Incarnation);

/// <summary>
/// Starts the registration's entity if it is not running, and does nothing else; replies <see cref="RegistrationAwake"/>.
/// The scope index sends it to its active registrations, which is how they restart after their node is lost, a move
/// or a restart of the whole cluster (the registration region does not remember its entities: issue 17).
/// </summary>
[SerializedName("bgfetch.registration.wake.v1")]
public sealed record WakeRegistration(string EntityId) : ICommand, IEntityMessage;

/// <summary>The registration's entity runs (answer to <see cref="WakeRegistration"/>).</summary>
[SerializedName("bgfetch.registration.awake.v1")]
public sealed record RegistrationAwake(string EntityId);

/// <summary>Asks for the registration; replies <see cref="RegistrationView"/> or <see cref="RegistrationNotFound"/>.</summary>
[SerializedName("bgfetch.registration.get.v1")]
public sealed record GetRegistration(string EntityId) : IQuery, IEntityMessage;

/// <summary>Aborts an active registration; replies <see cref="AbortReply"/>.</summary>
[SerializedName("bgfetch.registration.abort.v1")]
public sealed record AbortRegistration(string EntityId) : ICommand, IEntityMessage;

/// <summary>Releases the records (aborting first if active); replies <see cref="RecordsReleasedReply"/>.</summary>
[SerializedName("bgfetch.registration.release.v1")]
public sealed record ReleaseRegistration(string EntityId) : ICommand, IEntityMessage;

/// <summary>Changes the title and/or icons (<c>updateUI()</c>); replies <see cref="RegistrationView"/> or <see cref="RegistrationNotFound"/>.</summary>
[SerializedName("bgfetch.registration.update-ui.v1")]
public sealed record UpdateRegistrationUi(string EntityId, string? Title, IReadOnlyList<IconView>? Icons) : ICommand, IEntityMessage;

/// <summary>Asks for every record; replies <see cref="RecordsReply"/> or <see cref="RegistrationNotFound"/>.</summary>
[SerializedName("bgfetch.registration.get-records.v1")]
public sealed record GetRecords(string EntityId) : IQuery, IEntityMessage;

/// <summary>Replies with the record once it has settled (<see cref="RecordReady"/>).</summary>
[SerializedName("bgfetch.registration.await-record.v1")]
public sealed record AwaitRecord(string EntityId, int Index) : IQuery, IEntityMessage;

/// <summary>The registration does not exist, or was released.</summary>
[SerializedName("bgfetch.registration.not-found.v1")]
public sealed record RegistrationNotFound(string EntityId);

/// <summary>Whether <see cref="AbortRegistration"/> found the registration active.</summary>
[SerializedName("bgfetch.registration.abort-reply.v1")]
public sealed record AbortReply(bool Aborted);

/// <summary>The records are released and the registration forgotten.</summary>
[SerializedName("bgfetch.registration.released-reply.v1")]
public sealed record RecordsReleasedReply(string EntityId);

/// <summary>The registration and its records, in request order.</summary>
[SerializedName("bgfetch.registration.records-reply.v1")]
public sealed record RecordsReply(RegistrationView Registration, FetchRegistered Definition, IReadOnlyList<RecordView> Records);

/// <summary>A settled record, in answer to <see cref="AwaitRecord"/>, with its body when that was journaled inline.</summary>
[SerializedName("bgfetch.registration.record-ready.v1")]
public sealed record RecordReady(
    RecordView Record,
    bool RecordsAvailable,
    // Left out when null: the source generator would write it as "", which reads back as an empty inline body
    // (dotnet/runtime#129833), and a node serving a record owned by another node would send no bytes.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] byte[]? InlineBody = null);

/// <summary>
/// Published on a registration's topic whenever its progress, result or reason changes (<see cref="Settled"/> once it
/// has settled); with <see cref="UiUpdated"/> when <c>updateUI()</c> changed its title or icons, and with
/// <see cref="Released"/> (and <c>recordsAvailable</c> false) when its records were released. The last two are notices
/// beside progress, never the terminal event.
/// </summary>
[SerializedName("bgfetch.registration.progress.v1")]
public sealed record RegistrationProgress(RegistrationView Registration, bool Settled, bool UiUpdated = false, bool Released = false)
{
    /// <summary>Progress or the settlement itself, as opposed to a notice (<see cref="UiUpdated"/>, <see cref="Released"/>).</summary>
    public bool IsProgress => !UiUpdated && !Released;
}
