using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>One request of a registration after validation: absolute URL, method, headers and body.</summary>
/// <param name="Url">The absolute http(s) URL.</param>
/// <param name="Method">The normalized method (GET, POST...).</param>
/// <param name="Headers">Request headers, names as given.</param>
/// <param name="Body">
/// The request body, or null (never on GET or HEAD). Left out of JSON when null: the source generator's fast path
/// would write a null <c>byte[]</c> as <c>""</c>, which reads back as an empty body (dotnet/runtime#129833).
/// </param>
public sealed record FetchRequest(
    string Url,
    string Method,
    IReadOnlyDictionary<string, string> Headers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] byte[]? Body)
{
    /// <summary>The body's length in bytes (0 when there is none).</summary>
    public long BodyLength => Body?.LongLength ?? 0;

    /// <inheritdoc />
    public override string ToString() => $"{Method} {Url}";
}
