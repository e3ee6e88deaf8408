using BgFetchCluster.Messages.Fetch.Api;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// The node's OpenAPI document (<c>/openapi/v1.json</c>): the endpoints describe themselves through their metadata; this
/// adds what the CLR types cannot say (docs/api.md, "Conventions").
/// </summary>
public static class OpenApiDocumentation
{
    /// <summary>
    /// Adds the document, with the <c>name</c> member (the DOMException name) on every problem, and the create body's
    /// <c>requests</c> as what they are: each a URL string or a request object.
    /// </summary>
    public static IServiceCollection AddBgFetchOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(static options => options.AddSchemaTransformer(static async (schema, context, cancellationToken) =>
        {
            if (context.JsonTypeInfo.Type == typeof(ProblemDetails))
            {
                schema.Properties ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
                schema.Properties["name"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "The DOMException name the browser API would raise: TypeError, QuotaExceededError, NotFoundError, ...",
                };
            }
            else if (context.JsonPropertyInfo is { } property
                && property.DeclaringType == typeof(CreateRegistrationBody)
                && property.Name == "requests")
            {
                // Requests are read as JSON elements and parsed by hand (FetchRequestParser), as the browser's fetch() takes them.
                schema.Items = new OpenApiSchema
                {
                    OneOf =
                    [
                        new OpenApiSchema { Type = JsonSchemaType.String, Description = "A URL, absolute or relative to baseUrl" },
                        await context.GetOrCreateSchemaAsync(typeof(RequestBody), parameterDescription: null, cancellationToken),
                    ],
                };
            }
        }));
}
