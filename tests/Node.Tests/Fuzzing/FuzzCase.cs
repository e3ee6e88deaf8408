using System.Text;

namespace BgFetchCluster.Node.Tests.Fuzzing;

/// <summary>One generated request: what goes on the wire, and a readable description for failure messages.</summary>
public sealed record FuzzCase(int Number, string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, byte[]? Body, bool Chunked)
{
    /// <summary>Whether this creates a registration (every such body is invalid by construction, so it must be refused).</summary>
    public bool IsCreate => Method == "POST" && Target.Split('?')[0] is "/v1/registrations" or "/v1/registrations/";

    /// <inheritdoc />
    public override string ToString()
    {
        var body = Body is null ? "no body" : Body.Length > 300 ? $"{Body.Length} bytes: {Preview(Body[..300])}..." : $"{Body.Length} bytes: {Preview(Body)}";
        var target = Target.Length > 300 ? Target[..300] + $"... ({Target.Length} chars)" : Target;
        var headers = string.Join(", ", Headers.Select(h => $"{h.Name}: {(h.Value.Length > 80 ? h.Value[..80] + "..." : h.Value)}"));
        return $"#{Number} {Method} {target} [{headers}] {(Chunked ? "chunked " : "")}{body}";
    }

    private static string Preview(byte[] bytes) =>
        string.Concat(Encoding.UTF8.GetString(bytes).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
