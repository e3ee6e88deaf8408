namespace BgFetchCluster.Node.Health;

/// <summary>Liveness and readiness endpoints (API.md, "Health and operations").</summary>
public static class HealthApi
{
    /// <summary>Maps <c>GET /alive</c>: the process runs and answers.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/alive", () => TypedResults.Text("alive"))
            .WithName("Alive");
        return endpoints;
    }
}
