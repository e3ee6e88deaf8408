using Microsoft.AspNetCore.Http.HttpResults;

namespace BgFetchCluster.Node.Api;

/// <summary>Problem details (RFC 9457) carrying the DOMException <c>name</c> of API.md.</summary>
public static class Problems
{
    /// <summary>A problem with a status, a DOMException name and a detail.</summary>
    public static ProblemHttpResult Of(int status, string name, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: name, extensions: new Dictionary<string, object?> { ["name"] = name });

    /// <summary>
    /// A refused call as a problem; a <c>QuotaExceededError</c> carries the WebIDL interface's <c>quota</c> and
    /// <c>requested</c> as extension members when they are known.
    /// </summary>
    public static ProblemHttpResult Rejected(BgFetchCluster.Actors.Fetch.RegistrationRejectedException rejected)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        var extensions = new Dictionary<string, object?> { ["name"] = rejected.Name };
        if (rejected.Quota is { } quota)
        {
            extensions["quota"] = quota;
        }

        if (rejected.Requested is { } requested)
        {
            extensions["requested"] = requested;
        }

        return TypedResults.Problem(detail: rejected.Message, statusCode: rejected.Status, title: rejected.Name, extensions: extensions);
    }

    /// <summary>404 <c>NotFoundError</c>.</summary>
    public static ProblemHttpResult NotFound(string id) => Of(404, "NotFoundError", $"No registration '{id}' in this scope.");

    /// <summary>400 <c>TypeError</c>.</summary>
    public static ProblemHttpResult TypeError(string detail) => Of(400, "TypeError", detail);

    /// <summary>
    /// Gives every problem the framework writes on its own (no route: 404, wrong method: 405, a failed
    /// binding: 400, an unhandled exception: 500) the <c>name</c> member that API.md promises on every error.
    /// </summary>
    public static void AddName(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        if (!problem.Extensions.ContainsKey("name"))
        {
            problem.Extensions["name"] = NameFor(status);
        }

        // Routing refuses a body that is not JSON (415) before a handler can explain; every problem says what went wrong.
        problem.Detail ??= status == StatusCodes.Status415UnsupportedMediaType
            ? $"The body must be 'application/json' in UTF-8, not '{context.HttpContext.Request.ContentType}'."
            : Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
    }

    /// <summary>The DOMException name for a status no handler named itself.</summary>
    public static string NameFor(int status) => status switch
    {
        401 or 403 => "NotAllowedError",
        404 => "NotFoundError",
        405 => "NotSupportedError",
        413 => "QuotaExceededError",
        408 or 504 => "TimeoutError",
        < 500 => "TypeError",
        _ => "UnknownError",
    };

    /// <summary>An exception's status: a malformed or oversized request (Kestrel's own limits) is the client's error, anything else 500.</summary>
    public static int StatusFor(Exception exception) =>
        exception is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status500InternalServerError;
}
