using System.Text.Json;

namespace BgFetchCluster.Messages.Fetch.Api;

/// <summary>The body of <c>POST /v1/registrations</c> (docs/api.md, "fetch(id, requests, options)").</summary>
/// <param name="Id">The registration id, unique among the scope's active registrations.</param>
/// <param name="Requests">Each a URL string or a <see cref="RequestBody"/> object.</param>
/// <param name="BaseUrl">What relative URLs resolve against.</param>
/// <param name="Options">Title, icons and <c>downloadTotal</c>.</param>
/// <param name="Notify">The optional settlement webhook.</param>
public sealed record CreateRegistrationBody(
    string? Id,
    IReadOnlyList<JsonElement>? Requests,
    string? BaseUrl = null,
    RegistrationOptionsBody? Options = null,
    NotifyBody? Notify = null);

/// <summary>
/// A request given as an object: URL, method (GET by default), headers, a base64 body, and the Request's
/// <c>mode</c> (<c>"no-cors"</c> is refused, as Background Fetch refuses it).
/// </summary>
public sealed record RequestBody(
    string? Url, string? Method = null, IReadOnlyDictionary<string, string>? Headers = null, string? Body = null, string? Mode = null);

/// <summary>The <c>BackgroundFetchOptions</c>: UI title and icons, and the expected download size.</summary>
public sealed record RegistrationOptionsBody(string? Title = null, IReadOnlyList<IconView>? Icons = null, long? DownloadTotal = null);

/// <summary>Where to POST the settlement event.</summary>
public sealed record NotifyBody(string? Url);

/// <summary>
/// The body of <c>POST /v1/registrations/{id}/ui</c> (<c>updateUI(options)</c>): a new title and/or icons; a member left
/// out stays as it is.
/// </summary>
public sealed record UpdateUiBody(string? Title = null, IReadOnlyList<IconView>? Icons = null);

/// <summary>The answer to <c>getIds()</c>.</summary>
public sealed record IdsBody(IReadOnlyList<string> Ids);

/// <summary>The answer to <c>abort()</c>.</summary>
public sealed record AbortBody(bool Aborted);

/// <summary>The answer to <c>matchAll()</c>.</summary>
public sealed record RecordsBody(IReadOnlyList<RecordView> Records);

/// <summary>The answer to <c>match()</c>.</summary>
public sealed record RecordBody(RecordView? Record);

/// <summary>What the <c>notify</c> webhook receives after settlement.</summary>
/// <param name="Type"><c>backgroundfetchsuccess</c>, <c>backgroundfetchfail</c> or <c>backgroundfetchabort</c>.</param>
/// <param name="Registration">The settled registration.</param>
public sealed record NotificationBody(string Type, RegistrationView Registration)
{
    /// <summary>The event name for a settled registration (Background Fetch, "fire a background fetch event").</summary>
    public static string EventTypeFor(RegistrationView registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        return registration.FailureReason == BackgroundFetchFailureReason.Aborted
            ? "backgroundfetchabort"
            : registration.Result == BackgroundFetchResult.Success ? "backgroundfetchsuccess" : "backgroundfetchfail";
    }
}
