using System.Reflection;
using Microsoft.AspNetCore.Http.Features;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// The <c>{id}</c> of <c>/v1/registrations/{id}/...</c>, fully unescaped. Kestrel decodes every escape of
/// the path except <c>%2F</c> (so that it cannot split a segment), which would leave an id such as
/// <c>a/b</c>, addressed as <c>a%2Fb</c> (the <c>Location</c> of its creation), unreachable; this binder
/// decodes the segment from the raw request target instead.
/// </summary>
/// <param name="Value">The registration id.</param>
public sealed record RouteId(string Value)
{
    /// <summary>The segment of the path that holds the id: <c>/v1/registrations/{id}</c>.</summary>
    private const int Segment = 3;

    /// <summary>Minimal API binding: the <c>id</c> route value, or the raw segment when the decoded path is ambiguous.</summary>
    public static ValueTask<RouteId?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.RouteValues["id"] is not string routed)
        {
            return ValueTask.FromResult<RouteId?>(null);
        }

        // Without '%' in the decoded value, nothing was left escaped and the value is exact.
        if (!routed.Contains('%', StringComparison.Ordinal))
        {
            return ValueTask.FromResult<RouteId?>(new RouteId(routed));
        }

        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return ValueTask.FromResult<RouteId?>(new RouteId(FromRawTarget(raw) ?? routed));
    }

    /// <inheritdoc />
    public override string ToString() => Value;

    /// <summary>
    /// The unescaped id segment of an origin-form target, or null when the target is not the plain
    /// <c>/v1/registrations/{id}</c> shape (absolute form, dot segments) so that the routed value stands.
    /// </summary>
    private static string? FromRawTarget(string? raw)
    {
        if (raw is null || !raw.StartsWith('/'))
        {
            return null;
        }

        var query = raw.IndexOfAny(['?', '#']);
        var segments = (query < 0 ? raw : raw[..query]).Split('/');
        if (segments.Length <= Segment
            || !string.Equals(segments[1], "v1", StringComparison.OrdinalIgnoreCase)
            || !string.Equals(segments[2], "registrations", StringComparison.OrdinalIgnoreCase)
            || segments.Any(static s => s is "." or ".." || s.StartsWith("%2e", StringComparison.OrdinalIgnoreCase) || s.StartsWith(".%2e", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        return Uri.UnescapeDataString(segments[Segment]);
    }
}
