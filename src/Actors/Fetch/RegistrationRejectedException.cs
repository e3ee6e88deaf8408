namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// A call the API refuses, with the DOMException name and HTTP status of docs/api.md. Nothing was stored.
/// </summary>
public sealed class RegistrationRejectedException(string name, int status, string detail, long? quota = null, long? requested = null) : Exception(detail)
{
    /// <summary>With <c>QuotaExceededError</c>: the scope's quota in bytes (WebIDL <c>QuotaExceededError.quota</c>).</summary>
    public long? Quota { get; } = quota;

    /// <summary>With <c>QuotaExceededError</c>: the bytes the scope would hold with the refused call (WebIDL <c>requested</c>).</summary>
    public long? Requested { get; } = requested;

    /// <summary>The DOMException name (<c>TypeError</c>, <c>QuotaExceededError</c>...).</summary>
    public string Name { get; } = name;

    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>A 400 <c>TypeError</c>.</summary>
    public static RegistrationRejectedException TypeError(string detail) => new("TypeError", 400, detail);
}
