using System.Text.Json;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace BgFetchCluster.Node.Api;

/// <summary>BackgroundFetchManager and BackgroundFetchRegistration over HTTP (docs/api.md).</summary>
public static class RegistrationsApi
{
    /// <summary>The largest create body accepted; larger ones are refused before parsing.</summary>
    public const long MaxCreateBodyBytes = 16 * 1024 * 1024;

    /// <summary>Maps <c>/v1/registrations</c>.</summary>
    public static IEndpointRouteBuilder MapRegistrationsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var scopes = endpoints.ServiceProvider.GetRequiredService<Scopes>();
        // Every call of a scope may be refused its key or find the store away (docs/api.md, "Errors any call may answer");
        // each endpoint declares its own problems besides, so that /openapi/v1.json describes every answer.
        var group = endpoints.MapGroup("/v1/registrations")
            .AddEndpointFilter(scopes.Filter)
            .WithTags("Registrations")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.WithRequestTimeout(Problems.RequestTimeoutPolicy);

        // The create body is read by hand (size limit, media type, precise TypeErrors), so its schema is declared.
        group.MapPost("/", CreateAsync).WithName("Fetch")
            .Accepts<CreateRegistrationBody>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapGet("/", GetIdsAsync).WithName("GetIds");
        group.MapRegistrationEndpoints(namePrefix: "");
        return endpoints;
    }

    /// <summary>
    /// Maps the calls on one registration (get, abort, release, updateUI, records, events) under a group whose filter has
    /// resolved the scope (<see cref="Scopes"/>): the scoped API under <c>/v1/registrations</c>, and the admin API under
    /// <c>/v1/admin/scopes/{scope}/registrations</c> with the same handlers. <paramref name="namePrefix"/> keeps the
    /// endpoint names unique.
    /// </summary>
    public static RouteGroupBuilder MapRegistrationEndpoints(this RouteGroupBuilder group, string namePrefix)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/{id}", GetAsync).WithName(namePrefix + "Get").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id}/abort", AbortAsync).WithName(namePrefix + "Abort").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id}", ReleaseAsync).WithName(namePrefix + "Release").ProducesProblem(StatusCodes.Status404NotFound);

        // Read by hand like the create body (media type, precise TypeErrors), so its schema is declared.
        group.MapPost("/{id}/ui", UpdateUiAsync).WithName(namePrefix + "UpdateUI")
            .Accepts<UpdateUiBody>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapRecordsApi(namePrefix);
        group.MapEventsApi(namePrefix);
        return group;
    }

    private static async Task<Results<Created<RegistrationView>, ProblemHttpResult>> CreateAsync(
        HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        if (!IsJson(http.Request.ContentType))
        {
            return Problems.Of(
                StatusCodes.Status415UnsupportedMediaType, "TypeError", $"The body must be 'application/json' in UTF-8, not '{http.Request.ContentType}'.");
        }

        if (http.Request.ContentLength > MaxCreateBodyBytes)
        {
            return TooLarge();
        }

        CreateRegistrationBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(
                new LimitedStream(http.Request.Body, MaxCreateBodyBytes), ApiJsonContext.Default.CreateRegistrationBody, cancellationToken);
        }
        catch (JsonException exception)
        {
            return Problems.TypeError($"The body is not valid JSON for a registration: {exception.Message}");
        }
        catch (InvalidDataException)
        {
            return TooLarge();
        }
        catch (IOException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Kestrel refuses broken framing while the body is read: a BadHttpRequestException with its
            // status, or (a chunk size that overflows) a plain IOException. Either way the client's fault.
            var status = exception is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status400BadRequest;
            return Problems.Of(status, Problems.NameFor(status), $"The request body could not be read: {exception.Message}");
        }

        if (body is null)
        {
            return Problems.TypeError("The body must be a JSON object.");
        }

        try
        {
            var node = await host.Node;

            // During a known store outage a creation could only wait BgFetch:Http:RequestTimeout and answer 503 (or land
            // later and be undone): answer it now, before anything is asked of the cluster, so nothing is changed.
            if (await host.KnownStoreOutageAsync(cancellationToken) is { } outage)
            {
                return Problems.Unavailable(
                    http, $"The node cannot reach its store ({outage}); nothing was changed by this call.", Problems.UnavailableReason.Store);
            }

            var view = await node.Service.CreateAsync(Scopes.Of(http), body, cancellationToken);
            return TypedResults.Created($"/v1/registrations/{Uri.EscapeDataString(view.Id)}", view);
        }
        catch (RegistrationRejectedException rejected)
        {
            return Problems.Rejected(rejected);
        }
        catch (ReservationLostException lost)
        {
            return Problems.Unavailable(http, lost.Message, Problems.UnavailableReason.Store);
        }
    }

    /// <summary>
    /// 400 TypeError: the body is over the node's request size limit, whether declared (Content-Length)
    /// or streamed. Oversized JSON is a malformed call (issue 4, docs/api.md's 400 row); 413 and
    /// QuotaExceededError stay for the scope's storage quota.
    /// </summary>
    private static ProblemHttpResult TooLarge() =>
        Problems.Of(StatusCodes.Status400BadRequest, "TypeError", $"The request body is larger than the node's limit of {MaxCreateBodyBytes} bytes.");

    /// <summary>docs/api.md: JSON bodies in UTF-8, so <c>application/json</c> (or a <c>+json</c> type) with no charset or UTF-8.</summary>
    private static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return false;
        }

        var type = media.MediaType;
        var json = type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        var charset = HeaderUtilities.RemoveQuotes(media.Charset);
        return json && (charset.Length == 0 || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task<Ok<IdsBody>> GetIdsAsync(HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        return TypedResults.Ok(new IdsBody(await node.Service.GetIdsAsync(Scopes.Of(http), cancellationToken)));
    }

    private static async Task<Results<Ok<RegistrationView>, ProblemHttpResult>> GetAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var view = await node.Service.GetAsync(Scopes.Of(http), routeId.Value, cancellationToken);
        return view is null ? Problems.NotFound(routeId.Value) : TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<AbortBody>, ProblemHttpResult>> AbortAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var aborted = await node.Service.AbortAsync(Scopes.Of(http), routeId.Value, cancellationToken);
        return aborted is { } value ? TypedResults.Ok(new AbortBody(value)) : Problems.NotFound(routeId.Value);
    }

    /// <summary><c>updateUI(options)</c> (docs/api.md): a new title and/or icons, validated as create validates them.</summary>
    private static async Task<Results<Ok<RegistrationView>, ProblemHttpResult>> UpdateUiAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        if (!IsJson(http.Request.ContentType))
        {
            return Problems.Of(
                StatusCodes.Status415UnsupportedMediaType, "TypeError", $"The body must be 'application/json' in UTF-8, not '{http.Request.ContentType}'.");
        }

        UpdateUiBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(
                new LimitedStream(http.Request.Body, MaxCreateBodyBytes), ApiJsonContext.Default.UpdateUiBody, cancellationToken);
        }
        catch (JsonException exception)
        {
            return Problems.TypeError($"The body is not valid for updateUI ({{\"title\"?: string, \"icons\"?: [{{\"src\", ...}}]}}): {exception.Message}");
        }
        catch (InvalidDataException)
        {
            return TooLarge();
        }

        if (body is null)
        {
            return Problems.TypeError("The body must be a JSON object.");
        }

        try
        {
            var node = await host.Node;
            var view = await node.Service.UpdateUiAsync(Scopes.Of(http), routeId.Value, body.Title, body.Icons, cancellationToken);
            return view is null ? Problems.NotFound(routeId.Value) : TypedResults.Ok(view);
        }
        catch (RegistrationRejectedException rejected)
        {
            return Problems.Rejected(rejected);
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ReleaseAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        return await node.Service.ReleaseAsync(Scopes.Of(http), routeId.Value, cancellationToken) ? TypedResults.NoContent() : Problems.NotFound(routeId.Value);
    }
}
