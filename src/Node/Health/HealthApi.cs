using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Health;

/// <summary>Liveness and readiness endpoints (docs/api.md, "Health and operations").</summary>
public static class HealthApi
{
    /// <summary>
    /// Maps <c>GET /alive</c> (the process runs) and <c>GET /ready</c> (the node can serve: it is an <c>Up</c>
    /// member and its shard regions are registered; a leaving node answers 503 again).
    /// </summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/alive", () => TypedResults.Text("alive")).WithName("Alive").WithTags("Health")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        endpoints.MapGet("/ready", async (FetchNodeHost host, CancellationToken cancellationToken) =>
                await host.NotReadyReasonAsync(cancellationToken) is { } reason
                    ? Results.Problem(statusCode: 503, title: "not ready", detail: reason)
                    : Results.Text("ready"))
            .WithName("Ready")
            .WithTags("Health")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    /// <summary>Adds <c>X-BgFetch-Node</c> (this node's cluster address) to every response (docs/api.md).</summary>
    public static IApplicationBuilder UseNodeHeader(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var host = context.RequestServices.GetRequiredService<FetchNodeHost>();
            context.Response.OnStarting(() =>
            {
                context.Response.Headers["X-BgFetch-Node"] = host.Address ?? "starting";
                return Task.CompletedTask;
            });
            return next(context);
        });
}
