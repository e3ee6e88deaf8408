using System.Globalization;
using System.Text.RegularExpressions;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>One success answer of an endpoint in docs/api.md: a status and either a JSON schema name, a media type, or no body.</summary>
public sealed record DocumentedSuccess(int Status, string? Schema, string? MediaType)
{
    public override string ToString() => Status.ToString(CultureInfo.InvariantCulture) + (Schema is null ? "" : $" `{Schema}`") + (MediaType is null ? "" : " " + MediaType);
}

/// <summary>A row of the "Endpoints at a glance" table of docs/api.md: what <c>/openapi/v1.json</c> must say about the endpoint.</summary>
public sealed record DocumentedEndpoint(string Method, string Path, string? RequestSchema, IReadOnlyList<DocumentedSuccess> Successes, IReadOnlyList<int> Problems)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>
/// The endpoint tables of docs/api.md, section "Endpoints at a glance": the endpoints the OpenAPI document describes
/// (endpoint, counterpart, request body, success, problems) and those deliberately left out of it (endpoint, what).
/// </summary>
public sealed partial class ApiEndpointTable
{
    private const string Section = "## Endpoints at a glance";

    private ApiEndpointTable(IReadOnlyList<DocumentedEndpoint> described, IReadOnlyList<(string? Method, string Path)> undescribed)
    {
        Described = described;
        Undescribed = undescribed;
    }

    /// <summary>Endpoints that <c>/openapi/v1.json</c> describes.</summary>
    public IReadOnlyList<DocumentedEndpoint> Described { get; }

    /// <summary>Endpoints served but not described in the OpenAPI document (<c>/metrics</c>, the dashboard, the document itself).</summary>
    public IReadOnlyList<(string? Method, string Path)> Undescribed { get; }

    /// <summary>The path of docs/api.md in the repository this test was built from.</summary>
    public static string ApiMdPath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "docs", "api.md");
            if (File.Exists(candidate) && File.Exists(Path.Combine(directory.FullName, "BgFetchCluster.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"docs/api.md was not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>Reads both tables from <paramref name="markdown"/>; a row that does not parse fails with the row in the message.</summary>
    public static ApiEndpointTable Parse(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var start = markdown.IndexOf(Section, StringComparison.Ordinal);
        if (start < 0)
        {
            throw new FormatException($"docs/api.md has no section '{Section}'.");
        }

        var end = markdown.IndexOf("\n## ", start + Section.Length, StringComparison.Ordinal);
        var section = end < 0 ? markdown[start..] : markdown[start..end];
        var described = new List<DocumentedEndpoint>();
        var undescribed = new List<(string?, string)>();
        foreach (var line in section.Split('\n'))
        {
            if (!line.StartsWith("| `", StringComparison.Ordinal))
            {
                continue;
            }

            var cells = line.Trim().Trim('|').Split('|').Select(static c => c.Trim()).ToArray();
            var endpoint = EndpointCell().Match(cells[0]);
            if (!endpoint.Success)
            {
                throw new FormatException($"docs/api.md: '{cells[0]}' is not `METHOD /path` in the row: {line}");
            }

            var method = endpoint.Groups["method"].Value;
            var path = endpoint.Groups["path"].Value;
            switch (cells.Length)
            {
                case 2:
                    undescribed.Add((method, path));
                    break;
                case 5:
                    described.Add(new DocumentedEndpoint(method, path, Schema(cells[2], line), [.. Successes(cells[3], line)], [.. Statuses(cells[4], line)]));
                    break;
                default:
                    throw new FormatException($"docs/api.md: a row of the endpoint tables has {cells.Length} cells: {line}");
            }
        }

        return new ApiEndpointTable(described, undescribed);
    }

    private static string? Schema(string cell, string line) =>
        cell == "—" ? null
        : SchemaName().Match(cell) is { Success: true } match ? match.Groups["name"].Value
        : throw new FormatException($"docs/api.md: request body '{cell}' is neither — nor a `Schema`: {line}");

    private static IEnumerable<DocumentedSuccess> Successes(string cell, string line)
    {
        foreach (var part in cell.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var match = SuccessPart().Match(part);
            if (!match.Success)
            {
                throw new FormatException($"docs/api.md: success '{part}' is not 'status', 'status `Schema`' or 'status media/type': {line}");
            }

            yield return new DocumentedSuccess(
                int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture),
                match.Groups["schema"].Success ? match.Groups["schema"].Value : null,
                match.Groups["media"].Success ? match.Groups["media"].Value : null);
        }
    }

    private static IEnumerable<int> Statuses(string cell, string line) =>
        cell.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(status =>
            int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 400 and < 600
                ? value
                : throw new FormatException($"docs/api.md: problem status '{status}' is not a 4xx or 5xx status: {line}"));

    [GeneratedRegex(@"^`(?<method>GET|POST|PUT|PATCH|DELETE) (?<path>/[^`\s]*)`")]
    private static partial Regex EndpointCell();

    [GeneratedRegex(@"^`(?<name>[A-Za-z][A-Za-z0-9]*)`$")]
    private static partial Regex SchemaName();

    [GeneratedRegex(@"^(?<status>[1-5]\d\d)(?: `(?<schema>[A-Za-z][A-Za-z0-9]*)`| (?<media>[a-z]+/[a-z0-9.+-]+))?$")]
    private static partial Regex SuccessPart();
}
