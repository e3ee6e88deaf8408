using System.Reflection;
using Microsoft.AspNetCore.Http.Features;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// The <c>{id}</c> of <c>/v1/registrations/{id}/...</c> (and of <c>/v1/admin/scopes/{scope}/registrations/{id}/...</c>),
/// fully unescaped. Kestrel decodes every escape of the path except <c>%2F</c> (so that it cannot split a segment),
/// which would leave an id such as <c>a/b</c>, addressed as <c>a%2Fb</c> (the <c>Location</c> of its creation),
/// unreachable; this binder decodes the segment from the raw request target instead. The admin path's
/// <c>{scope}</c> is decoded the same way (<see cref="Decode"/>).
/// </summary>
/// <param name="Value">The registration id.</param>
public sealed record RouteId(string Value)
{
    /// <summary>Minimal API binding: the <c>id</c> route value, or the raw segment when the decoded path is ambiguous.</summary>
    public static ValueTask<RouteId?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult(Decode(context, "id") is { } id ? new RouteId(id) : null);

    /// <summary>The route value <paramref name="name"/> (<c>id</c> or <c>scope</c>) exactly unescaped, or null when the route has none.</summary>
    public static string? Decode(HttpContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.RouteValues[name] is not string routed)
        {
            return null;
        }

        // Without '%' in the decoded value, nothing was left escaped and the value is exact.
        if (!routed.Contains('%', StringComparison.Ordinal))
        {
            return routed;
        }

        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return FromRawTarget(raw, name) ?? routed;
    }

    /// <inheritdoc />
    public override string ToString() => Value;

    /// <summary>
    /// The unescaped segment of an origin-form target that holds <paramref name="name"/>, or null when the target is not
    /// the plain <c>/v1/registrations/{id}</c> or <c>/v1/admin/scopes/{scope}/registrations/{id}</c> shape (absolute form,
    /// dot segments) so that the routed value stands.
    /// </summary>
    private static string? FromRawTarget(string? raw, string name)
    {
        if (raw is null || !raw.StartsWith('/'))
        {
            return null;
        }

        var query = raw.IndexOfAny(['?', '#']);
        var segments = (query < 0 ? raw : raw[..query]).Split('/');
        if (segments.Any(static s => s is "." or ".." || s.StartsWith("%2e", StringComparison.OrdinalIgnoreCase) || s.StartsWith(".%2e", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var segment = SegmentOf(segments, name);
        return segment is { } index ? Uri.UnescapeDataString(segments[index]) : null;
    }

    private static int? SegmentOf(string[] segments, string name)
    {
        static bool Is(string[] segments, int index, string text) =>
            segments.Length > index && string.Equals(segments[index], text, StringComparison.OrdinalIgnoreCase);

        if (!Is(segments, 1, "v1"))
        {
            return null;
        }

        // /v1/registrations/{id}
        if (Is(segments, 2, "registrations") && segments.Length > 3)
        {
            return name == "id" ? 3 : null;
        }

        // /v1/admin/scopes/{scope}/registrations/{id}
        if (Is(segments, 2, "admin") && Is(segments, 3, "scopes") && Is(segments, 5, "registrations") && segments.Length > 6)
        {
            return name switch { "scope" => 4, "id" => 6, _ => null };
        }

        return null;
    }
}
