using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using BgFetchCluster.Node.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// A node's routes, its <c>/openapi/v1.json</c> and the endpoint table of docs/api.md, held to each other: every endpoint the
/// node maps (read from its <see cref="EndpointDataSource"/>, so a new one cannot be forgotten) is listed in docs/api.md, and the
/// OpenAPI document describes it with its method, operation id, request body schema, success responses and a problem schema
/// for every error status the contract gives it, no more and no fewer.
/// </summary>
public sealed class OpenApiDocumentTests(OpenApiDocumentTests.OpenApiNode node) : IClassFixture<OpenApiDocumentTests.OpenApiNode>
{
    private const string ProblemMediaType = "application/problem+json";
    private const string JsonMediaType = "application/json";

    [Fact]
    public void MappedEndpoints_EveryRoute_IsListedInApiMd()
    {
        var missing = node.Mapped
            .Where(endpoint => node.Documented(endpoint) is null && !node.IsUndescribed(endpoint))
            .Select(static endpoint => endpoint.ToString())
            .ToList();

        Assert.True(missing.Count == 0, "Mapped endpoints that docs/api.md (\"Endpoints at a glance\") does not list:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void OpenApiDocument_EveryDescribedEndpoint_HasItsMethodAndOperationId()
    {
        var failures = new List<string>();
        foreach (var endpoint in node.Described)
        {
            if (node.Operation(endpoint) is not { } operation)
            {
                failures.Add($"{endpoint}: no operation in /openapi/v1.json");
            }
            else if (endpoint.Name is null || (string?)operation["operationId"] != endpoint.Name)
            {
                failures.Add($"{endpoint}: operationId '{operation["operationId"]}', endpoint name '{endpoint.Name}' (every endpoint needs WithName)");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void OpenApiDocument_EveryOperation_IsAMappedEndpoint()
    {
        var mapped = node.Described.Select(static e => $"{e.Method} {e.Path}").ToHashSet(StringComparer.Ordinal);
        var extra = node.Paths
            .SelectMany(static path => path.Value!.AsObject().Where(static op => op.Key != "parameters").Select(op => $"{op.Key.ToUpperInvariant()} {path.Key}"))
            .Where(operation => !mapped.Contains(operation))
            .ToList();

        Assert.True(extra.Count == 0, "Operations in /openapi/v1.json that the node does not map:\n" + string.Join('\n', extra));
    }

    [Fact]
    public void OpenApiDocument_EveryDescribedEndpoint_HasTheRequestBodySchemaOfApiMd()
    {
        var failures = new List<string>();
        foreach (var endpoint in node.Described)
        {
            if (node.Operation(endpoint) is not { } operation || node.Documented(endpoint) is not { } documented)
            {
                continue;
            }

            var body = operation["requestBody"]?["content"]?[JsonMediaType]?["schema"];
            if (documented.RequestSchema is null)
            {
                if (operation["requestBody"] is not null)
                {
                    failures.Add($"{endpoint}: docs/api.md says it takes no body, /openapi/v1.json describes one: {operation["requestBody"]!.ToJsonString()}");
                }
            }
            else if (!node.RefersTo(body, documented.RequestSchema))
            {
                failures.Add($"{endpoint}: request body should be {JsonMediaType} `{documented.RequestSchema}`, is {operation["requestBody"]?.ToJsonString() ?? "absent"}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void OpenApiDocument_EveryDescribedEndpoint_HasTheSuccessResponsesOfApiMd()
    {
        var failures = new List<string>();
        foreach (var endpoint in node.Described)
        {
            if (node.Operation(endpoint) is not { } operation || node.Documented(endpoint) is not { } documented)
            {
                continue;
            }

            foreach (var success in documented.Successes)
            {
                var response = operation["responses"]?[success.Status.ToString(CultureInfo.InvariantCulture)];
                var problem = success switch
                {
                    _ when response is null => "absent",
                    { Schema: { } schema } when !node.RefersTo(response["content"]?[JsonMediaType]?["schema"], schema) => $"not {JsonMediaType} `{schema}`",
                    { MediaType: { } media } when response["content"]?[media]?["schema"] is null => $"no {media} content with a schema",
                    { Schema: null, MediaType: null } when response["content"] is not null => "a body where docs/api.md says there is none",
                    _ => null,
                };
                if (problem is not null)
                {
                    failures.Add($"{endpoint}: response {success}: {problem}: {response?.ToJsonString()}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void OpenApiDocument_EveryDescribedEndpoint_HasAProblemSchemaForEachErrorStatusOfApiMdAndNoOther()
    {
        var failures = new List<string>();
        foreach (var endpoint in node.Described)
        {
            if (node.Operation(endpoint) is not { } operation || node.Documented(endpoint) is not { } documented)
            {
                continue;
            }

            var responses = operation["responses"]?.AsObject() ?? new JsonObject();
            foreach (var status in documented.Problems)
            {
                var schema = responses[status.ToString(CultureInfo.InvariantCulture)]?["content"]?[ProblemMediaType]?["schema"];
                if (!node.RefersTo(schema, "ProblemDetails"))
                {
                    failures.Add($"{endpoint}: status {status} should be {ProblemMediaType} `ProblemDetails`, is {responses[status.ToString(CultureInfo.InvariantCulture)]?.ToJsonString() ?? "absent"}");
                }
            }

            var documentedStatuses = documented.Successes.Select(static s => s.Status).Concat(documented.Problems).Select(static s => s.ToString(CultureInfo.InvariantCulture));
            var undocumented = responses.Select(static r => r.Key).Except(documentedStatuses, StringComparer.Ordinal).ToList();
            if (undocumented.Count > 0)
            {
                failures.Add($"{endpoint}: /openapi/v1.json answers {string.Join(", ", undocumented)}, which docs/api.md does not list");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void OpenApiDocument_ProblemSchema_HasTheDomExceptionName()
    {
        var name = node.Schema("ProblemDetails")?["properties"]?["name"];

        Assert.True((string?)name?["type"] == "string", $"ProblemDetails should have a string 'name' member (docs/api.md, \"Conventions\"), has {name?.ToJsonString() ?? "none"}");
    }

    /// <summary>An endpoint as the node maps it: its method (null: any), its path with constraints removed, its name.</summary>
    public sealed record MappedEndpoint(string? Method, string Path, string? Name)
    {
        public override string ToString() => $"{Method ?? "(any method)"} {Path}";

        /// <summary>Every route the node serves, one entry per method.</summary>
        public static IReadOnlyList<MappedEndpoint> From(EndpointDataSource source)
        {
            ArgumentNullException.ThrowIfNull(source);
            var mapped = new List<MappedEndpoint>();
            foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
            {
                var path = PathOf(endpoint.RoutePattern);
                var name = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
                var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [];
                if (methods.Count == 0)
                {
                    mapped.Add(new MappedEndpoint(null, path, name));
                }

                mapped.AddRange(methods.Select(method => new MappedEndpoint(method, path, name)));
            }

            return mapped;
        }

        /// <summary>The route as OpenAPI writes it: literal segments, and parameters as <c>{name}</c> without constraints.</summary>
        private static string PathOf(RoutePattern pattern) =>
            "/" + string.Join('/', pattern.PathSegments.Select(static segment => string.Concat(segment.Parts.Select(static part => part switch
            {
                RoutePatternLiteralPart literal => literal.Content,
                RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
                RoutePatternSeparatorPart separator => separator.Content,
                _ => throw new InvalidOperationException($"Unknown route part {part}"),
            }))));
    }

    /// <summary>One node for the class, its OpenAPI document, its routes and docs/api.md's tables.</summary>
    public sealed class OpenApiNode : IAsyncLifetime
    {
        private readonly NodeFactory _factory = new();
        private JsonObject _document = null!;
        private ApiEndpointTable _table = null!;

        public IReadOnlyList<MappedEndpoint> Mapped { get; private set; } = [];

        /// <summary>The mapped endpoints that are not deliberately left out of the OpenAPI document.</summary>
        public IEnumerable<MappedEndpoint> Described => Mapped.Where(endpoint => !IsUndescribed(endpoint));

        public JsonObject Paths => _document["paths"]!.AsObject();

        public async Task InitializeAsync()
        {
            using var client = _factory.CreateClient();
            _document = (await client.GetFromJsonAsync<JsonObject>(new Uri("/openapi/v1.json", UriKind.Relative)))!;
            Mapped = MappedEndpoint.From(_factory.Services.GetRequiredService<EndpointDataSource>());
            _table = ApiEndpointTable.Parse(await File.ReadAllTextAsync(ApiEndpointTable.ApiMdPath()));
            Assert.True(Mapped.Count > 0, "The node maps no endpoints.");
            Assert.True(_table.Described.Count > 0, "docs/api.md lists no endpoints.");
        }

        public async Task DisposeAsync() => await _factory.DisposeAsync();

        public DocumentedEndpoint? Documented(MappedEndpoint endpoint) =>
            _table.Described.FirstOrDefault(d => d.Method == endpoint.Method && d.Path == endpoint.Path);

        public bool IsUndescribed(MappedEndpoint endpoint) =>
            _table.Undescribed.Any(u => u.Path == endpoint.Path && (endpoint.Method is null || u.Method == endpoint.Method));

        public JsonNode? Operation(MappedEndpoint endpoint) =>
            endpoint.Method is null ? null : Paths[endpoint.Path]?[endpoint.Method.ToLowerInvariant()];

        /// <summary>The schema <c>components/schemas/{name}</c>, or null.</summary>
        public JsonNode? Schema(string name) => _document["components"]?["schemas"]?[name];

        /// <summary>
        /// True when <paramref name="schema"/> is a reference to <c>components/schemas/{name}</c> that exists, directly or as the
        /// non-null branch of a nullable (<c>oneOf</c> with <c>null</c>).
        /// </summary>
        public bool RefersTo(JsonNode? schema, string name)
        {
            if (schema is null || Schema(name) is null)
            {
                return false;
            }

            var reference = "#/components/schemas/" + name;
            return (string?)schema["$ref"] == reference
                || (schema["oneOf"] ?? schema["anyOf"] ?? schema["allOf"])?.AsArray().Any(branch => (string?)branch?["$ref"] == reference) == true;
        }
    }
}
