using Akka.Actor;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BgFetchCluster.Node.Api;

/// <summary>Problem details (RFC 9457) carrying the DOMException <c>name</c> of docs/api.md.</summary>
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

    /// <summary>The request-timeout policy of the API's calls (<c>BgFetch:Http:RequestTimeout</c>, answered with 503).</summary>
    public const string RequestTimeoutPolicy = "bgfetch-api";

    /// <summary>The <c>Retry-After</c> (seconds) of a 503 <c>UnavailableError</c>: about when a restarting database is back.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>
    /// 503 <c>UnavailableError</c> with <c>Retry-After</c>: the node cannot reach its store (or the cluster) right now.
    /// Nothing was changed (docs/api.md, "Errors every call may answer"). <paramref name="reason"/> is the
    /// <c>reason</c> tag of <c>bgfetch.http.unavailable</c> (<see cref="UnavailableReason"/>).
    /// </summary>
    public static ProblemHttpResult Unavailable(HttpContext http, string detail, string reason)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[UnavailableReason.ItemKey] = reason;
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Of(503, "UnavailableError", detail);
    }

    /// <summary>The <c>reason</c> tag values of the 503 counter (<c>bgfetch.http.unavailable</c>, docs/api.md "Metrics").</summary>
    public static class UnavailableReason
    {
        /// <summary>The store is known to be down, or stayed away past the outage tolerance.</summary>
        public const string Store = "store";

        /// <summary><c>BgFetch:Http:RequestTimeout</c> passed, or the cluster did not answer.</summary>
        public const string Timeout = "timeout";

        /// <summary>Where a handler leaves the reason of its 503 for the counter (<see cref="HttpContext.Items"/>).</summary>
        internal const string ItemKey = "bgfetch.unavailable.reason";
    }

    /// <summary>400 <c>TypeError</c>.</summary>
    public static ProblemHttpResult TypeError(string detail) => Of(400, "TypeError", detail);

    /// <summary>
    /// Gives every problem the framework writes on its own (no route: 404, wrong method: 405, a failed
    /// binding: 400, an unhandled exception: 500) the <c>name</c> member that docs/api.md promises on every error.
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

        if (status == StatusCodes.Status503ServiceUnavailable && !context.HttpContext.Response.HasStarted)
        {
            context.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (context.Exception is { } exception && !context.HttpContext.Items.ContainsKey(UnavailableReason.ItemKey))
            {
                context.HttpContext.Items[UnavailableReason.ItemKey] = exception is AskTimeoutException ? UnavailableReason.Timeout : UnavailableReason.Store;
            }
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
        503 => "UnavailableError",
        < 500 => "TypeError",
        _ => "UnknownError",
    };

    /// <summary>
    /// An exception's status, the one place where failures that reach the HTTP layer are translated (docs/contributing.md rule 7):
    /// a malformed or oversized request (Kestrel's own limits) is the client's error; a body deleted while it was read
    /// is a released registration (404); a store that cannot be reached, or a cluster that did not answer within
    /// <c>BgFetch:Http:RequestTimeout</c>, is 503 <c>UnavailableError</c> with <c>Retry-After</c>; anything else 500.
    /// </summary>
    public static int StatusFor(Exception exception) => exception switch
    {
        BadHttpRequestException badRequest => badRequest.StatusCode,
        ResponseStoreException { Failure: ResponseStoreFailure.Deleted } => StatusCodes.Status404NotFound,
        AskTimeoutException => StatusCodes.Status503ServiceUnavailable,
        BgFetchCluster.Actors.Fetch.ReservationLostException => StatusCodes.Status503ServiceUnavailable,
        _ when StoreErrors.IsUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };
}
