using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>An image for the fetch's UI (<c>ImageResource</c>).</summary>
public sealed record IconView(
    string Src,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Sizes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Label = null);

/// <summary>The BackgroundFetchRegistration of docs/api.md, as every node serves it.</summary>
[SerializedName("bgfetch.view.registration.v1")]
public sealed record RegistrationView(
    string Id,
    long UploadTotal,
    long Uploaded,
    long DownloadTotal,
    long Downloaded,
    BackgroundFetchResult Result,
    BackgroundFetchFailureReason FailureReason,
    bool RecordsAvailable,
    string Title,
    IReadOnlyList<IconView> Icons,
    int RequestCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SettledAt)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"Registration({Id}: {Downloaded}/{DownloadTotal} down, {Uploaded}/{UploadTotal} up, result '{Result}', reason '{FailureReason}')";
}

/// <summary>A record's request as the API shows it.</summary>
public sealed record RequestView(string Url, string Method, IReadOnlyDictionary<string, string> Headers);

/// <summary>A record's response: status line, headers and the stored body's size, digest and address.</summary>
public sealed record ResponseView(
    int Status,
    string StatusText,
    string Url,
    IReadOnlyDictionary<string, string> Headers,
    long Size,
    string? Sha256,
    string BodyUrl);

/// <summary>The BackgroundFetchRecord of docs/api.md.</summary>
public sealed record RecordView(int Index, RequestView Request, RecordState State, ResponseView? Response)
{
    /// <inheritdoc />
    public override string ToString() => $"Record({Index} {Request.Method} {Request.Url}: {State})";
}
