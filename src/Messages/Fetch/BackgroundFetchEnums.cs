using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>A registration's <c>result</c> (Background Fetch, "BackgroundFetchResult").</summary>
[JsonConverter(typeof(BackgroundFetchResultConverter))]
public enum BackgroundFetchResult
{
    /// <summary>Still active: <c>""</c>.</summary>
    None,

    /// <summary>Every record succeeded.</summary>
    Success,

    /// <summary>At least one record failed, or the fetch was aborted.</summary>
    Failure,
}

/// <summary>A registration's <c>failureReason</c> (Background Fetch, "BackgroundFetchFailureReason").</summary>
[JsonConverter(typeof(BackgroundFetchFailureReasonConverter))]
public enum BackgroundFetchFailureReason
{
    /// <summary>No failure: <c>""</c>.</summary>
    None,

    /// <summary>The fetch was aborted.</summary>
    Aborted,

    /// <summary>A response had a non-ok status.</summary>
    BadStatus,

    /// <summary>A request failed for another reason (network, refused target, truncated body).</summary>
    FetchError,

    /// <summary>The scope's storage quota was exceeded.</summary>
    QuotaExceeded,

    /// <summary>More bytes arrived than the registration's <c>downloadTotal</c>.</summary>
    DownloadTotalExceeded,
}

/// <summary>The state of one record, as docs/api.md lists it.</summary>
[JsonConverter(typeof(RecordStateConverter))]
public enum RecordState
{
    /// <summary>Not started.</summary>
    Pending,

    /// <summary>Request sent or body streaming.</summary>
    Fetching,

    /// <summary>An ok response, stored whole.</summary>
    Success,

    /// <summary>A non-ok response; its body is kept.</summary>
    BadStatus,

    /// <summary>No usable response.</summary>
    FetchError,

    /// <summary>Stopped by an abort.</summary>
    Aborted,

    /// <summary>Stopped because the scope's quota ran out.</summary>
    QuotaExceeded,

    /// <summary>Stopped because the registration went past <c>downloadTotal</c>.</summary>
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
