using System.Reflection;

namespace BgFetchCluster.Node.Dashboard;

/// <summary>
/// The live dashboard (docs/api.md, "Health and operations"): a static page, its style sheet and script, embedded in the
/// node's assembly so that every node serves it with no files to deploy and no build step. The page itself only
/// calls the public and admin APIs.
/// </summary>
public static class DashboardApi
{
    private const string ResourcePrefix = "BgFetchCluster.Node.Dashboard.wwwroot.";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["dashboard.css"] = "text/css; charset=utf-8",
        ["dashboard.js"] = "text/javascript; charset=utf-8",
    };

    /// <summary>Maps <c>GET /dashboard</c> (the page) and <c>GET /dashboard/{file}</c> (its assets).</summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var files = Load();
        var group = endpoints.MapGroup("/dashboard").ExcludeFromDescription();
        group.MapGet("/", (CancellationToken cancellationToken) => Serve(files, "index.html")).WithName("Dashboard");
        group.MapGet("/{file}", (string file, CancellationToken cancellationToken) => Serve(files, file)).WithName("DashboardAsset");
        return endpoints;
    }

    private static IResult Serve(IReadOnlyDictionary<string, byte[]> files, string file) =>
        files.TryGetValue(file, out var content)
            ? TypedResults.Bytes(content, ContentTypes[file])
            : Api.Problems.Of(404, "NotFoundError", $"The dashboard has no file '{file}'.");

    /// <summary>Reads the embedded files once; a missing one is a packaging bug, found at start-up.</summary>
    private static Dictionary<string, byte[]> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in ContentTypes.Keys)
        {
            using var stream = assembly.GetManifestResourceStream(ResourcePrefix + name)
                ?? throw new InvalidOperationException($"The dashboard file '{name}' is not embedded in {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = copy.ToArray();
        }

        return files;
    }
}
