using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// Decides the scope of a call (docs/api.md, "Scopes and authentication"): with API keys, the bearer key
/// opens its scope and anything else is 401 <c>NotAllowedError</c>; without keys (Development), the
/// <c>X-BgFetch-Scope</c> header or <c>default</c>. Under the admin API (<c>/v1/admin/scopes/{scope}/registrations</c>)
/// the scope is the path's, behind the admin key: one source of the scope per route group, one set of handlers.
/// </summary>
public sealed class Scopes(BgFetchSettings settings)
{
    /// <summary>The item key under which the resolved scope is kept for the request.</summary>
    private const string ItemKey = "bgfetch.scope";

    /// <summary>The item key under which the path of the scope's registrations is kept when it is not the scoped API's.</summary>
    private const string PathKey = "bgfetch.registrations-path";

    /// <summary>The scoped API's path of registrations.</summary>
    private const string ScopedPath = "/v1/registrations";

    /// <summary>The scope resolved by <see cref="Filter"/> for this request.</summary>
    public static string Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return (string)context.Items[ItemKey]!;
    }

    /// <summary>
    /// Where the registrations of this request's scope are addressed: <c>/v1/registrations</c>, or the admin API's
    /// <c>/v1/admin/scopes/{scope}/registrations</c>.
    /// </summary>
    public static string RegistrationsPath(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items[PathKey] as string ?? ScopedPath;
    }

    /// <summary>The record with its <c>bodyUrl</c> under the path this request came by, so that the same key can read it.</summary>
    public static RecordView Readdress(HttpContext context, RecordView record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = RegistrationsPath(context);
        return path == ScopedPath || record.Response is not { } response || !response.BodyUrl.StartsWith(ScopedPath + "/", StringComparison.Ordinal)
            ? record
            : record with { Response = response with { BodyUrl = path + response.BodyUrl[ScopedPath.Length..] } };
    }

    /// <summary>
    /// The admin API's endpoint filter (behind the admin key's): the scope is the <c>{scope}</c> of the path, unescaped
    /// exactly (see <see cref="RouteId"/>).
    /// </summary>
    public static async ValueTask<object?> FromRoute(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(next);
        var http = invocation.HttpContext;
        if (RouteId.Decode(http, "scope") is not { Length: > 0 } scope)
        {
            return Problems.TypeError("The path must name a scope: /v1/admin/scopes/{scope}/registrations/{id}.");
        }

        http.Items[ItemKey] = scope;
        http.Items[PathKey] = $"/v1/admin/scopes/{Uri.EscapeDataString(scope)}/registrations";
        return await next(invocation);
    }

    /// <summary>An endpoint filter that resolves the scope or answers 401.</summary>
    public async ValueTask<object?> Filter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(next);
        var http = invocation.HttpContext;
        string? scope;
        if (settings.Auth.ApiKeys.Count == 0)
        {
            scope = http.Request.Headers["X-BgFetch-Scope"].FirstOrDefault() is { Length: > 0 } header ? header : "default";
        }
        else
        {
            var authorization = http.Request.Headers.Authorization.FirstOrDefault();
            var key = authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? authorization["Bearer ".Length..].Trim() : null;
            scope = key is not null && settings.Auth.ApiKeys.TryGetValue(key, out var keyScope) ? keyScope : null;
            if (scope is null)
            {
                return Problems.Of(401, "NotAllowedError", "A valid 'Authorization: Bearer <key>' header is required.");
            }
        }

        http.Items[ItemKey] = scope;
        return await next(invocation);
    }
}
