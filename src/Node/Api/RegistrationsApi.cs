using System.Text.Json;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace BgFetchCluster.Node.Api;

/// <summary>BackgroundFetchManager and BackgroundFetchRegistration over HTTP (API.md).</summary>
public static class RegistrationsApi
{
    /// <summary>The largest create body accepted; larger ones are refused before parsing.</summary>
    public const long MaxCreateBodyBytes = 16 * 1024 * 1024;

    /// <summary>Maps <c>/v1/registrations</c>.</summary>
    public static IEndpointRouteBuilder MapRegistrationsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var scopes = endpoints.ServiceProvider.GetRequiredService<Scopes>();
        var group = endpoints.MapGroup("/v1/registrations").AddEndpointFilter(scopes.Filter);
        group.WithRequestTimeout(Problems.RequestTimeoutPolicy);
        group.MapPost("/", CreateAsync).WithName("Fetch");
        group.MapGet("/", GetIdsAsync).WithName("GetIds");
        group.MapGet("/{id}", GetAsync).WithName("Get");
        group.MapPost("/{id}/abort", AbortAsync).WithName("Abort");
        group.MapDelete("/{id}", ReleaseAsync).WithName("Release");
        group.MapRecordsApi();
        group.MapEventsApi();
        return endpoints;
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
            var view = await node.Service.CreateAsync(Scopes.Of(http), body, cancellationToken);
            return TypedResults.Created($"/v1/registrations/{Uri.EscapeDataString(view.Id)}", view);
        }
        catch (RegistrationRejectedException rejected)
        {
            return Problems.Of(rejected.Status, rejected.Name, rejected.Message);
        }
    }

    /// <summary>
    /// 400 TypeError: the body is over the node's request size limit, whether declared (Content-Length)
    /// or streamed. Oversized JSON is a malformed call (issue 4, API.md's 400 row); 413 and
    /// QuotaExceededError stay for the scope's storage quota.
    /// </summary>
    private static ProblemHttpResult TooLarge() =>
        Problems.Of(StatusCodes.Status400BadRequest, "TypeError", $"The request body is larger than the node's limit of {MaxCreateBodyBytes} bytes.");

    /// <summary>API.md: JSON bodies in UTF-8, so <c>application/json</c> (or a <c>+json</c> type) with no charset or UTF-8.</summary>
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

    private static async Task<Results<NoContent, ProblemHttpResult>> ReleaseAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        return await node.Service.ReleaseAsync(Scopes.Of(http), routeId.Value, cancellationToken) ? TypedResults.NoContent() : Problems.NotFound(routeId.Value);
    }
}
