using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Health;

/// <summary>Liveness and readiness endpoints (API.md, "Health and operations").</summary>
public static class HealthApi
{
    /// <summary>Maps <c>GET /alive</c> (the process runs) and <c>GET /ready</c> (the node can serve).</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/alive", () => TypedResults.Text("alive")).WithName("Alive");
        endpoints.MapGet("/ready", (FetchNodeHost host) => host.IsReady
            ? Results.Text("ready")
            : Results.Problem(statusCode: 503, title: "starting", detail: "The node is still starting."))
            .WithName("Ready");
        return endpoints;
    }
}
