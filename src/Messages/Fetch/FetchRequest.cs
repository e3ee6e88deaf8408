namespace BgFetchCluster.Messages.Fetch;

/// <summary>One request of a registration after validation: absolute URL, method, headers and body.</summary>
/// <param name="Url">The absolute http(s) URL.</param>
/// <param name="Method">The normalized method (GET, POST...).</param>
/// <param name="Headers">Request headers, names as given.</param>
/// <param name="Body">The request body, or null (never on GET or HEAD).</param>
public sealed record FetchRequest(string Url, string Method, IReadOnlyDictionary<string, string> Headers, byte[]? Body)
{
    /// <summary>The body's length in bytes (0 when there is none).</summary>
    public long BodyLength => Body?.LongLength ?? 0;

    /// <inheritdoc />
    public override string ToString() => $"{Method} {Url}";
}
