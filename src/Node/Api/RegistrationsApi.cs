using System.Text.Json;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;

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
        if (http.Request.ContentLength > MaxCreateBodyBytes)
        {
            return Problems.TypeError($"The request body is larger than {MaxCreateBodyBytes} bytes.");
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
        catch (InvalidDataException exception)
        {
            return Problems.TypeError(exception.Message);
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

    private static async Task<Ok<IdsBody>> GetIdsAsync(HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        return TypedResults.Ok(new IdsBody(await node.Service.GetIdsAsync(Scopes.Of(http), cancellationToken)));
    }

    private static async Task<Results<Ok<RegistrationView>, ProblemHttpResult>> GetAsync(
        string id, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var view = await node.Service.GetAsync(Scopes.Of(http), id, cancellationToken);
        return view is null ? Problems.NotFound(id) : TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<AbortBody>, ProblemHttpResult>> AbortAsync(
        string id, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var aborted = await node.Service.AbortAsync(Scopes.Of(http), id, cancellationToken);
        return aborted is { } value ? TypedResults.Ok(new AbortBody(value)) : Problems.NotFound(id);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ReleaseAsync(
        string id, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        return await node.Service.ReleaseAsync(Scopes.Of(http), id, cancellationToken) ? TypedResults.NoContent() : Problems.NotFound(id);
    }
}
