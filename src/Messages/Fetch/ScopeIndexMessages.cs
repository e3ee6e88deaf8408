namespace BgFetchCluster.Messages.Fetch;

/// <summary>
/// Reserves an id among a scope's active registrations (of concurrent reservations of one id, exactly
/// one wins) and checks the scope's limits. Replies <see cref="IdReserved"/> or <see cref="ReservationRefused"/>.
/// </summary>
[SerializedName("bgfetch.scope.reserve.v1")]
public sealed record ReserveId(
    string EntityId,
    string Id,
    string Incarnation,
    long DownloadTotal,
    long UploadTotal,
    long QuotaBytes,
    int MaxActive) : ICommand, IEntityMessage;

/// <summary>
/// The id is taken for this incarnation (durable or not yet: see <see cref="ConfirmReservation"/>);
/// <see cref="QuotaRemaining"/> is what the scope had left.
/// </summary>
[SerializedName("bgfetch.scope.reserved.v1")]
public sealed record IdReserved(string Id, string Incarnation, long QuotaRemaining);

/// <summary>
/// Why a reservation was refused, with the DOMException name and HTTP status of docs/api.md; a quota refusal also
/// carries the WebIDL <c>QuotaExceededError</c>'s <c>quota</c> (the scope's) and <c>requested</c> (what the scope
/// would hold with this registration) in bytes.
/// </summary>
[SerializedName("bgfetch.scope.refused.v1")]
public sealed record ReservationRefused(string Name, int Status, string Detail, long? Quota = null, long? Requested = null);

/// <summary>
/// Asks whether the reservation is durable: replies <see cref="ReservationConfirmed"/> once it is, or at
/// once when the index does not hold it (its write failed and the index started again without it).
/// </summary>
[SerializedName("bgfetch.scope.confirm.v1")]
public sealed record ConfirmReservation(string EntityId, string Id, string Incarnation) : IQuery, IEntityMessage;

/// <summary>The answer to <see cref="ConfirmReservation"/>: <see cref="Confirmed"/> is false when the reservation is lost.</summary>
[SerializedName("bgfetch.scope.confirmed.v1")]
public sealed record ReservationConfirmed(string Id, string Incarnation, bool Confirmed);

/// <summary>
/// Creates a registration with one ask: the index reserves the id as for <see cref="ReserveId"/> (a refusal is
/// answered with <see cref="ReservationRefused"/>), fills in <see cref="FetchRegistered.QuotaRemaining"/> (the value in
/// <see cref="Registration"/> is ignored) and forwards <see cref="CreateRegistration"/> to the registration, which
/// answers the asker with its <see cref="RegistrationView"/> once its own write and the reservation are durable, or
/// with <see cref="ReservationLost"/>. Id, incarnation and <c>downloadTotal</c> are the registration's.
/// </summary>
[SerializedName("bgfetch.scope.reserve-and-create.v1")]
public sealed record ReserveAndCreate(string EntityId, long QuotaBytes, int MaxActive, FetchRegistered Registration) : ICommand, IEntityMessage
{
    /// <inheritdoc />
    public override string ToString() => $"ReserveAndCreate({EntityId}, {Registration})";
}

/// <summary>Undoes a reservation whose registration could not be created.</summary>
[SerializedName("bgfetch.scope.cancel.v1")]
public sealed record CancelReservation(string EntityId, string Id, string Incarnation) : ICommand, IEntityMessage;

/// <summary>Finds the incarnation an id names now: the active one, else the newest settled unreleased one.</summary>
[SerializedName("bgfetch.scope.resolve.v1")]
public sealed record ResolveId(string EntityId, string Id) : IQuery, IEntityMessage;

/// <summary>The answer to <see cref="ResolveId"/>; <see cref="Incarnation"/> is null when the id names nothing.</summary>
[SerializedName("bgfetch.scope.resolved.v1")]
public sealed record IdResolved(string Id, string? Incarnation);

/// <summary>Asks for the active ids, oldest first; replies <see cref="ActiveIds"/>.</summary>
[SerializedName("bgfetch.scope.get-active-ids.v1")]
public sealed record GetActiveIds(string EntityId) : IQuery, IEntityMessage;

/// <summary>The scope's active ids, oldest first.</summary>
[SerializedName("bgfetch.scope.active-ids.v1")]
public sealed record ActiveIds(IReadOnlyList<string> Ids);

/// <summary>A registration settled: its id is free again, its stored bytes still count against the quota.</summary>
[SerializedName("bgfetch.scope.mark-settled.v1")]
public sealed record MarkIdSettled(string EntityId, string Id, string Incarnation, long StoredBytes) : ICommand, IEntityMessage;

/// <summary>The index has durably freed the id of a settled registration (answer to <see cref="MarkIdSettled"/>).</summary>
[SerializedName("bgfetch.scope.settled-ack.v1")]
public sealed record IdSettledAck(string Id, string Incarnation);

/// <summary>
/// A registration is stopping without being done: its shard moves to another node, or a journal write or its recovery
/// failed. The index wakes it again, if it is still active, until it answers from wherever it runs next.
/// </summary>
[SerializedName("bgfetch.scope.wake-again.v1")]
public sealed record WakeAgain(string EntityId, string Id, string Incarnation) : ICommand, IEntityMessage;

/// <summary>A registration's records were released: its bytes no longer count, its id names nothing.</summary>
[SerializedName("bgfetch.scope.mark-released.v1")]
public sealed record MarkIdReleased(string EntityId, string Id, string Incarnation) : ICommand, IEntityMessage;

/// <summary>Events of the scope index.</summary>
[SerializedName("bgfetch.scope.id-reserved.v1")]
public sealed record ScopeIdReserved(string Id, string Incarnation, long ReservedBytes, DateTimeOffset At) : IEvent;

/// <summary>A reservation was withdrawn before its registration existed.</summary>
[SerializedName("bgfetch.scope.reservation-cancelled.v1")]
public sealed record ScopeReservationCancelled(string Id, string Incarnation) : IEvent;

/// <summary>A registration of the scope settled with this many stored bytes.</summary>
[SerializedName("bgfetch.scope.id-settled.v1")]
public sealed record ScopeIdSettled(string Id, string Incarnation, long StoredBytes, DateTimeOffset At) : IEvent;

/// <summary>A registration of the scope was released.</summary>
[SerializedName("bgfetch.scope.id-released.v1")]
public sealed record ScopeIdReleased(string Id, string Incarnation) : IEvent;
