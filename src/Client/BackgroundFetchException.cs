namespace BgFetchCluster.Client;

/// <summary>The node refused a call; <see cref="Name"/> is the DOMException name the browser API would raise.</summary>
public sealed class BackgroundFetchException(string name, int status, string detail) : Exception($"{name}: {detail}")
{
    /// <summary><c>TypeError</c>, <c>QuotaExceededError</c>, <c>InvalidStateError</c>, <c>NotFoundError</c>, <c>AbortError</c>, <c>NotAllowedError</c>...</summary>
    public string Name { get; } = name;

    /// <summary>The HTTP status of the answer.</summary>
    public int Status { get; } = status;

    /// <summary>The node's explanation.</summary>
    public string Detail { get; } = detail;
}
