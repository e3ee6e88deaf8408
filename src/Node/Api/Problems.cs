using Microsoft.AspNetCore.Http.HttpResults;

namespace BgFetchCluster.Node.Api;

/// <summary>Problem details (RFC 9457) carrying the DOMException <c>name</c> of API.md.</summary>
public static class Problems
{
    /// <summary>A problem with a status, a DOMException name and a detail.</summary>
    public static ProblemHttpResult Of(int status, string name, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: name, extensions: new Dictionary<string, object?> { ["name"] = name });

    /// <summary>404 <c>NotFoundError</c>.</summary>
    public static ProblemHttpResult NotFound(string id) => Of(404, "NotFoundError", $"No registration '{id}' in this scope.");

    /// <summary>400 <c>TypeError</c>.</summary>
    public static ProblemHttpResult TypeError(string detail) => Of(400, "TypeError", detail);
}
