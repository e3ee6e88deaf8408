using System.Collections.Frozen;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>A create call after validation, before the scope has accepted it.</summary>
public sealed record ParsedRegistration(
    string Id,
    IReadOnlyList<FetchRequest> Requests,
    string Title,
    IReadOnlyList<IconView> Icons,
    long DownloadTotal,
    string? NotifyUrl,
    string? BaseUrl)
{
    /// <summary>The sum of request body lengths.</summary>
    public long UploadTotal => Requests.Sum(static r => r.BodyLength);
}

/// <summary>
/// Turns the body of <c>POST /v1/registrations</c> into validated requests, refusing with a
/// <c>TypeError</c> what the Background Fetch and Fetch standards refuse.
/// </summary>
public static class FetchRequestParser
{
    /// <summary>The longest id accepted.</summary>
    public const int MaxIdLength = 256;

    /// <summary>Fetch standard, "bad port": ports a fetch never connects to.</summary>
    private static readonly FrozenSet<int> BadPorts = new[]
    {
        0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109,
        110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530,
        531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190,
        5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
    }.ToFrozenSet();

    /// <summary>Fetch standard, "forbidden method".</summary>
    private static readonly FrozenSet<string> ForbiddenMethods = new[] { "CONNECT", "TRACE", "TRACK" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Fetch standard, "forbidden request-header" (by name; <c>Proxy-</c> and <c>Sec-</c> prefixes are
    /// checked apart): a request's <c>Headers</c> drop these silently, so a record never sends them.
    /// </summary>
    private static readonly FrozenSet<string> ForbiddenHeaderNames = new[]
    {
        "Accept-Charset", "Accept-Encoding", "Access-Control-Request-Headers", "Access-Control-Request-Method", "Connection",
        "Content-Length", "Cookie", "Cookie2", "Date", "DNT", "Expect", "Host", "Keep-Alive", "Origin", "Referer", "Set-Cookie",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Via",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Fetch standard: these are forbidden when their value names a forbidden method.</summary>
    private static readonly FrozenSet<string> MethodOverrideHeaderNames =
        new[] { "X-HTTP-Method", "X-HTTP-Method-Override", "X-Method-Override" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Fetch standard, "HTTP whitespace".</summary>
    private static readonly char[] HttpWhitespace = ['\t', '\n', '\r', ' '];

    /// <summary>Fetch standard, "normalize a method": these are upper-cased, others kept as given.</summary>
    private static readonly FrozenSet<string> NormalizedMethods = new[] { "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Validates <paramref name="body"/>; throws <see cref="RegistrationRejectedException"/> on the first problem.</summary>
    public static ParsedRegistration Parse(CreateRegistrationBody body, int maxRequests)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (string.IsNullOrEmpty(body.Id))
        {
            throw RegistrationRejectedException.TypeError("'id' is required and must not be empty.");
        }

        if (body.Id.Length > MaxIdLength)
        {
            throw RegistrationRejectedException.TypeError($"'id' must be at most {MaxIdLength} characters.");
        }

        // RFC 3986 removes "." and ".." path segments (escaped or not), so /v1/registrations/{id} could never name them.
        if (body.Id is "." or "..")
        {
            throw RegistrationRejectedException.TypeError($"'id' must not be '{body.Id}': no URL path can name it.");
        }

        if (body.Requests is not { Count: > 0 } requests)
        {
            throw RegistrationRejectedException.TypeError("'requests' must hold at least one request.");
        }

        if (requests.Count > maxRequests)
        {
            throw RegistrationRejectedException.TypeError($"'requests' holds {requests.Count} requests; at most {maxRequests} are allowed.");
        }

        Uri? baseUri = null;
        if (body.BaseUrl is not null && (!Uri.TryCreate(body.BaseUrl, UriKind.Absolute, out baseUri) || !IsHttp(baseUri)))
        {
            throw RegistrationRejectedException.TypeError($"'baseUrl' must be an absolute http or https URL: '{body.BaseUrl}'.");
        }

        var parsed = new FetchRequest[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            parsed[i] = ParseRequest(requests[i], baseUri, i);
        }

        var downloadTotal = body.Options?.DownloadTotal ?? 0;
        if (downloadTotal < 0)
        {
            throw RegistrationRejectedException.TypeError("'options.downloadTotal' must not be negative.");
        }

        var icons = body.Options?.Icons ?? [];
        CheckIcons(icons, "options.icons");

        string? notify = null;
        if (body.Notify?.Url is { } notifyUrl)
        {
            if (!Uri.TryCreate(notifyUrl, UriKind.Absolute, out var notifyUri) || !IsHttp(notifyUri))
            {
                throw RegistrationRejectedException.TypeError($"'notify.url' must be an absolute http or https URL: '{notifyUrl}'.");
            }

            // The webhook is fetched like a record, so it obeys the same credential and bad-port rules.
            notify = CheckFetchable(notifyUri, $"'notify.url' '{notifyUrl}'").AbsoluteUri;
        }

        return new ParsedRegistration(body.Id, parsed, body.Options?.Title ?? "", icons, downloadTotal, notify, baseUri?.AbsoluteUri);
    }

    /// <summary>
    /// ImageResource's <c>src</c> is a required member: a missing (or null) icon is a TypeError in the browser too. Used by
    /// create (<c>options.icons</c>) and <c>updateUI()</c> (<c>icons</c>).
    /// </summary>
    public static void CheckIcons(IReadOnlyList<IconView?>? icons, string member)
    {
        for (var i = 0; i < (icons?.Count ?? 0); i++)
        {
            if (string.IsNullOrEmpty(icons![i]?.Src))
            {
                throw RegistrationRejectedException.TypeError($"'{member}[{i}]' must be an object with a non-empty 'src'.");
            }
        }
    }

    private static FetchRequest ParseRequest(JsonElement element, Uri? baseUri, int index)
    {
        RequestBody request;
        try
        {
            request = element.ValueKind switch
            {
                JsonValueKind.String => new RequestBody(element.GetString()),
                JsonValueKind.Object => element.Deserialize(ApiJsonContext.Default.RequestBody)!,
                _ => throw RegistrationRejectedException.TypeError($"requests[{index}] must be a URL string or a request object."),
            };
        }
        catch (JsonException exception)
        {
            throw RegistrationRejectedException.TypeError($"requests[{index}] is not a valid request object: {exception.Message}");
        }

        // The empty string is a relative URL like any other: it resolves to the base URL (WPT "Empty URL is OK.").
        if (request.Url is null)
        {
            throw RegistrationRejectedException.TypeError($"requests[{index}] has no 'url'.");
        }

        CheckMode(request.Mode, index);

        var url = Resolve(request.Url, baseUri, index);
        var method = NormalizeMethod(request.Method, index);
        byte[]? body = null;
        if (request.Body is not null)
        {
            if (method is "GET" or "HEAD")
            {
                throw RegistrationRejectedException.TypeError($"requests[{index}] is a {method} with a body; GET and HEAD requests cannot have one.");
            }

            try
            {
                body = Convert.FromBase64String(request.Body);
            }
            catch (FormatException)
            {
                throw RegistrationRejectedException.TypeError($"requests[{index}].body must be base64.");
            }
        }

        return new FetchRequest(url.AbsoluteUri, method, ParseHeaders(request.Headers, index), body);
    }

    /// <summary>
    /// Background Fetch, <c>fetch()</c>: a request whose mode is <c>"no-cors"</c> is a TypeError (its response would be
    /// opaque). Any other value must be one of the Fetch standard's <c>RequestMode</c> values, as WebIDL requires.
    /// </summary>
    private static void CheckMode(string? mode, int index)
    {
        switch (mode)
        {
            case null or "cors" or "same-origin" or "navigate":
                return;
            case "no-cors":
                throw RegistrationRejectedException.TypeError($"requests[{index}] has mode 'no-cors'; a background fetch cannot use it.");
            default:
                throw RegistrationRejectedException.TypeError($"requests[{index}] mode '{mode}' is not a RequestMode (cors, same-origin, navigate).");
        }
    }

    private static Uri Resolve(string text, Uri? baseUri, int index)
    {
        Uri? url;
        if (!Uri.TryCreate(text, UriKind.Absolute, out url) || url.IsFile || url.IsUnc)
        {
            if (baseUri is null || !Uri.TryCreate(baseUri, text, out url))
            {
                throw RegistrationRejectedException.TypeError($"requests[{index}] URL '{text}' does not parse{(baseUri is null ? " and there is no baseUrl to resolve it against" : "")}.");
            }
        }

        if (!IsHttp(url))
        {
            throw RegistrationRejectedException.TypeError($"requests[{index}] URL '{text}' has scheme '{url.Scheme}'; only http and https are fetched.");
        }

        return CheckFetchable(url, $"requests[{index}] URL '{text}'");
    }

    /// <summary>Fetch standard: a Request's URL must not include credentials, and a fetch never connects to a bad port.</summary>
    private static Uri CheckFetchable(Uri url, string what)
    {
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            throw RegistrationRejectedException.TypeError($"{what} includes credentials.");
        }

        if (BadPorts.Contains(url.Port))
        {
            throw RegistrationRejectedException.TypeError($"{what} uses port {url.Port}, which the Fetch standard blocks.");
        }

        return url;
    }

    /// <summary>
    /// The Fetch standard's <c>Headers</c> with guard "request": an invalid name or value is a
    /// <c>TypeError</c> (values are first stripped of leading and trailing HTTP whitespace, and as a
    /// WebIDL ByteString hold no character above U+00FF); a forbidden request-header is dropped.
    /// </summary>
    private static Dictionary<string, string> ParseHeaders(IReadOnlyDictionary<string, string>? given, int index)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, raw) in given ?? new Dictionary<string, string>())
        {
            if (name.Length == 0 || !name.All(IsTokenChar))
            {
                throw RegistrationRejectedException.TypeError($"requests[{index}] has an invalid header name '{name}'.");
            }

            // The JSON may say null where the contract says string.
            if (raw is null)
            {
                throw RegistrationRejectedException.TypeError($"requests[{index}] header '{name}' must have a string value.");
            }

            var value = raw.Trim(HttpWhitespace);
            if (value.Any(static c => c is '\r' or '\n' or '\0' or > '\u00FF'))
            {
                throw RegistrationRejectedException.TypeError($"requests[{index}] header '{name}' has an invalid value.");
            }

            if (!IsForbiddenHeader(name, value))
            {
                headers[name] = value;
            }
        }

        return headers;
    }

    private static bool IsForbiddenHeader(string name, string value) =>
        ForbiddenHeaderNames.Contains(name)
        || name.StartsWith("proxy-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("sec-", StringComparison.OrdinalIgnoreCase)
        || MethodOverrideHeaderNames.Contains(name)
            && value.Split(',', StringSplitOptions.TrimEntries).Any(ForbiddenMethods.Contains);

    private static string NormalizeMethod(string? method, int index)
    {
        if (method is null)
        {
            return "GET";
        }

        if (method.Length == 0 || !method.All(IsTokenChar))
        {
            throw RegistrationRejectedException.TypeError($"requests[{index}] method '{method}' is not a valid method.");
        }

        if (ForbiddenMethods.Contains(method))
        {
            throw RegistrationRejectedException.TypeError($"requests[{index}] method '{method}' is forbidden.");
        }

        return NormalizedMethods.Contains(method) ? method.ToUpperInvariant() : method;
    }

    private static bool IsHttp(Uri url) => url.Scheme is "http" or "https";

    /// <summary>RFC 9110 token characters.</summary>
    private static bool IsTokenChar(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
