using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>The query of <c>match</c>/<c>matchAll</c> (a request plus <c>CacheQueryOptions</c>).</summary>
public sealed record RecordQuery(string? Url, string Method = "GET", bool IgnoreSearch = false, bool IgnoreMethod = false, bool IgnoreVary = false);

/// <summary>
/// Which records match a query, by the Cache API's "request matches cached item" (Service Workers,
/// used by Background Fetch's <c>matchAll</c>): URLs compared without fragment (and without query
/// when <c>ignoreSearch</c>), only GET queries of GET requests unless <c>ignoreMethod</c>, and a stored response's
/// <c>Vary</c> honoured unless <c>ignoreVary</c>.
/// </summary>
public static class RecordMatcher
{
    /// <summary>The matching records, in request order; all records when the query has no URL.</summary>
    public static IReadOnlyList<RecordView> MatchAll(IReadOnlyList<RecordView> records, RecordQuery query, string? baseUrl)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(query);
        if (query.Url is null)
        {
            return records;
        }

        if (!query.IgnoreMethod && !string.Equals(query.Method, "GET", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        if (!TryResolve(query.Url, baseUrl, out var wanted))
        {
            throw RegistrationRejectedException.TypeError($"'url' {query.Url} does not parse as an absolute URL or relative to the registration's baseUrl.");
        }

        return [.. records.Where(record => Matches(record, wanted, query))];
    }

    private static bool Matches(RecordView record, Uri wanted, RecordQuery query)
    {
        // Service Workers, "request matches cached item": without ignoreMethod the stored request must be a GET too,
        // so a stored PUT or POST matches only with ignoreMethod (WPT "Match with query options").
        if (!query.IgnoreMethod && !string.Equals(record.Request.Method, "GET", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (!Uri.TryCreate(record.Request.Url, UriKind.Absolute, out var stored)
            || !string.Equals(Normalize(stored, query.IgnoreSearch), Normalize(wanted, query.IgnoreSearch), StringComparison.Ordinal))
        {
            return false;
        }

        if (query.IgnoreVary || record.Response?.Headers.GetValueOrDefault("vary") is not { } vary)
        {
            return true;
        }

        // The query request carries no headers: a Vary field matches only if the stored request lacked it too.
        foreach (var field in vary.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (field == "*" || record.Request.Headers.Keys.Any(k => string.Equals(k, field, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }
        }

        return true;
    }

    private static string Normalize(Uri url, bool ignoreSearch) =>
        url.GetComponents(ignoreSearch ? UriComponents.SchemeAndServer | UriComponents.Path : UriComponents.HttpRequestUrl, UriFormat.UriEscaped);

    private static bool TryResolve(string url, string? baseUrl, out Uri resolved)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out resolved!) && resolved.Scheme is "http" or "https")
        {
            return true;
        }

        return baseUrl is not null && Uri.TryCreate(new Uri(baseUrl), url, out resolved!);
    }
}
