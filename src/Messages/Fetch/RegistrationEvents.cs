using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>A registration was accepted: everything needed to fetch it, fixed for its lifetime.</summary>
[SerializedName("bgfetch.registration.registered.v1")]
public sealed record FetchRegistered(
    string Scope,
    string Id,
    string Incarnation,
    IReadOnlyList<FetchRequest> Requests,
    string Title,
    IReadOnlyList<IconView> Icons,
    long DownloadTotal,
    long QuotaRemaining,
    string? NotifyUrl,
    DateTimeOffset CreatedAt,
    string? BaseUrl = null) : IEvent
{
    /// <summary>The sum of the request body lengths (<c>uploadTotal</c>).</summary>
    public long UploadTotal => Requests.Sum(static r => r.BodyLength);

    /// <inheritdoc />
    public override string ToString() => $"FetchRegistered({Scope}/{Id}#{Incarnation}, {Requests.Count} requests)";
}

/// <summary>A record's response headers arrived (or arrived again on a restart from byte 0).</summary>
[SerializedName("bgfetch.record.response-received.v1")]
public sealed record RecordResponseReceived(
    int Index,
    int Status,
    string StatusText,
    string Url,
    IReadOnlyDictionary<string, string> Headers,
    string? ETag,
    string? LastModified,
    long? TotalLength) : IEvent;

/// <summary>
/// A durable checkpoint: the body is stored (and fsynced) up to <see cref="StoredBytes"/>, so a restart
/// resumes there with <c>Range</c>. Also carries the uploaded bytes of the request body.
/// </summary>
[SerializedName("bgfetch.record.checkpointed.v1")]
public sealed record RecordCheckpointed(int Index, long StoredBytes, long UploadedBytes) : IEvent;

/// <summary>The origin ignored a resume (200 to a ranged request): the record starts again from byte 0.</summary>
[SerializedName("bgfetch.record.restarted.v1")]
public sealed record RecordRestarted(int Index) : IEvent;

/// <summary>
/// A record reached its final state. <see cref="Body"/> holds a small body journaled here instead of stored as a
/// file (null: the response store has it, or there is none; left out of JSON then, see <see cref="FetchRequest.Body"/>).
/// </summary>
[SerializedName("bgfetch.record.settled.v1")]
public sealed record RecordSettled(
    int Index,
    RecordState State,
    long Size,
    string? Sha256,
    string? Error,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] byte[]? Body = null) : IEvent;

/// <summary>
/// A new incarnation took the active registration over (after a crash, a failover or a rebalance) and journaled this
/// before restarting its records: it takes the sequence number that a stale copy still running elsewhere (cut off or
/// paused) would write next, so the journal's unique key refuses that copy's events instead of letting them land
/// ahead of the new owner's.
/// </summary>
[SerializedName("bgfetch.registration.resumed.v1")]
public sealed record RegistrationResumed(DateTimeOffset ResumedAt) : IEvent;

/// <summary>The registration settled with its result and failure reason.</summary>
[SerializedName("bgfetch.registration.settled.v1")]
public sealed record RegistrationSettled(BackgroundFetchResult Result, BackgroundFetchFailureReason FailureReason, DateTimeOffset SettledAt) : IEvent;

/// <summary>
/// <c>updateUI()</c> (Background Fetch, <c>BackgroundFetchUpdateUIEvent</c>): the title and/or icons the registration
/// shows from now on; a null member leaves that one as it was.
/// </summary>
[SerializedName("bgfetch.registration.ui-updated.v1")]
public sealed record RegistrationUiUpdated(string? Title, IReadOnlyList<IconView>? Icons) : IEvent;

/// <summary>The records were released: bodies deleted, the registration forgotten.</summary>
[SerializedName("bgfetch.registration.records-released.v1")]
public sealed record RecordsReleased(DateTimeOffset ReleasedAt) : IEvent;
