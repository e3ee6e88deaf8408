using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>A registration's <c>result</c> (Background Fetch, "BackgroundFetchResult").</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BackgroundFetchResult>))]
public enum BackgroundFetchResult
{
    /// <summary>Still active: <c>""</c>.</summary>
    [JsonStringEnumMemberName("")]
    None,

    /// <summary>Every record succeeded.</summary>
    [JsonStringEnumMemberName("success")]
    Success,

    /// <summary>At least one record failed, or the fetch was aborted.</summary>
    [JsonStringEnumMemberName("failure")]
    Failure,
}

/// <summary>A registration's <c>failureReason</c> (Background Fetch, "BackgroundFetchFailureReason").</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BackgroundFetchFailureReason>))]
public enum BackgroundFetchFailureReason
{
    /// <summary>No failure: <c>""</c>.</summary>
    [JsonStringEnumMemberName("")]
    None,

    /// <summary>The fetch was aborted.</summary>
    [JsonStringEnumMemberName("aborted")]
    Aborted,

    /// <summary>A response had a non-ok status.</summary>
    [JsonStringEnumMemberName("bad-status")]
    BadStatus,

    /// <summary>A request failed for another reason (network, refused target, truncated body).</summary>
    [JsonStringEnumMemberName("fetch-error")]
    FetchError,

    /// <summary>The scope's storage quota was exceeded.</summary>
    [JsonStringEnumMemberName("quota-exceeded")]
    QuotaExceeded,

    /// <summary>More bytes arrived than the registration's <c>downloadTotal</c>.</summary>
    [JsonStringEnumMemberName("download-total-exceeded")]
    DownloadTotalExceeded,
}

/// <summary>The state of one record, as API.md lists it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RecordState>))]
public enum RecordState
{
    /// <summary>Not started.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>Request sent or body streaming.</summary>
    [JsonStringEnumMemberName("fetching")]
    Fetching,

    /// <summary>An ok response, stored whole.</summary>
    [JsonStringEnumMemberName("success")]
    Success,

    /// <summary>A non-ok response; its body is kept.</summary>
    [JsonStringEnumMemberName("bad-status")]
    BadStatus,

    /// <summary>No usable response.</summary>
    [JsonStringEnumMemberName("fetch-error")]
    FetchError,

    /// <summary>Stopped by an abort.</summary>
    [JsonStringEnumMemberName("aborted")]
    Aborted,

    /// <summary>Stopped because the scope's quota ran out.</summary>
    [JsonStringEnumMemberName("quota-exceeded")]
    QuotaExceeded,

    /// <summary>Stopped because the registration went past <c>downloadTotal</c>.</summary>
    [JsonStringEnumMemberName("download-total-exceeded")]
    DownloadTotalExceeded,
}

/// <summary>Helpers on <see cref="RecordState"/>.</summary>
public static class RecordStateExtensions
{
    /// <summary>True once the record will change no more.</summary>
    public static bool IsSettled(this RecordState state) => state is not (RecordState.Pending or RecordState.Fetching);

    /// <summary>The registration failure reason a failed record stands for (None for success).</summary>
    public static BackgroundFetchFailureReason ToFailureReason(this RecordState state) => state switch
    {
        RecordState.BadStatus => BackgroundFetchFailureReason.BadStatus,
        RecordState.FetchError => BackgroundFetchFailureReason.FetchError,
        RecordState.Aborted => BackgroundFetchFailureReason.Aborted,
        RecordState.QuotaExceeded => BackgroundFetchFailureReason.QuotaExceeded,
        RecordState.DownloadTotalExceeded => BackgroundFetchFailureReason.DownloadTotalExceeded,
        _ => BackgroundFetchFailureReason.None,
    };
}
