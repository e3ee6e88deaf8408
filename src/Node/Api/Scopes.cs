using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// Decides the scope of a call (API.md, "Scopes and authentication"): with API keys, the bearer key
/// opens its scope and anything else is 401 <c>NotAllowedError</c>; without keys (Development), the
/// <c>X-BgFetch-Scope</c> header or <c>default</c>.
/// </summary>
public sealed class Scopes(BgFetchSettings settings)
{
    /// <summary>The item key under which the resolved scope is kept for the request.</summary>
    private const string ItemKey = "bgfetch.scope";

    /// <summary>The scope resolved by <see cref="Filter"/> for this request.</summary>
    public static string Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return (string)context.Items[ItemKey]!;
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
