using System.Text;

namespace BgFetchCluster.Node.Tests.Fuzzing;

/// <summary>
/// Generates hostile requests against every route of docs/api.md from a seed: odd ids and paths, odd
/// queries, every method, wrong content types, and create bodies that are all invalid by
/// construction (a semantic poison the parser always reaches, or JSON that cannot parse), so that a
/// correct node stores nothing however many it receives.
/// </summary>
public sealed partial class ApiFuzzer(int seed, int maxRequestsPerRegistration)
{
    /// <summary>The scopes the cases use (null: no header, so <c>default</c>); each must end with getIds empty.</summary>
    public static readonly IReadOnlyList<string?> Scopes = [null, "fuzz-a", "fuzz-é-\u4e2d", "fuzz/../%2F", new string('s', 2000)];

    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FOO", "get", "TRACE"];

    private static readonly string[] RouteShapes =
    [
        "/v1/registrations", "/v1/registrations/", "/v1/registrations/{id}", "/v1/registrations/{id}/abort", "/v1/registrations/{id}/records",
        "/v1/registrations/{id}/records/match", "/v1/registrations/{id}/records/{index}/body", "/v1/registrations/{id}/events",
        "/v1/registrations/{id}/{junk}", "/v1/registrations/{id}/records/{junk}", "/v1/{junk}", "/{junk}", "/v1//registrations",
        "/V1/REGISTRATIONS/{id}", "/v1/registrations/{id}/abort/{junk}", "/v1/admin/{junk}",
    ];

    /// <summary>Path segments placed verbatim (already escaped, or deliberately not).</summary>
    private static readonly string[] RawSegments =
    [
        "..", ".", "%2E%2E", "%2e", "%2F", "a%2Fb", "%252F", "%00", "a%00b", "%", "%ZZ", "%C0%AF", "%FF%FE", "%E2%80%AE", "%0D%0A", "%09",
        "%20", "+", "~", "@", ":", ";x=1", "a;b", "%7B%7D", "{id}", "%25", "%%", "%u002F", "..%2F..%2Fetc%2Fpasswd",
    ];

    private static readonly string[] ContentTypes =
    [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
        "application/xml", "a/b/c", ";;;", "application/json;charset=\"latin1\"", "application/problem+json", "application/jsonx",
        "application/json; charset=UTF-8", "APPLICATION/JSON", "application/vnd.api+json", "application/json; q=0.5",
    ];

    private static readonly string[] QueryParts =
    [
        "url=", "url=%00", "url=http%3A%2F%2F%5B", "url=ftp%3A%2F%2Fx", "url=" + new string('u', 1000), "method=TRACE", "method=", "method=%00",
        "ignoreSearch=maybe", "ignoreMethod=1", "ignoreVary", "timeout=1e400", "timeout=-1", "timeout=NaN", "timeout=abc", "timeout=0",
        "timeout=Infinity", "timeout=18446744073709551616", "%%%", "a=1&a=2", "=", "&&&", "url=%E2%80%AE", "timeout=0x10",
    ];

    private static readonly string[] IndexSegments =
    ["0", "-1", "1", "2147483647", "2147483648", "-2147483649", "18446744073709551616", "1e3", "abc", "0x10", "%20", "%D9%A3", "1.5", "00000000001"];

    /// <summary>Absolute URLs that the parser accepts (a host that never resolves), so poisons elsewhere are reached.</summary>
    private static readonly string[] FineUrls = ["http://fuzz.invalid/a", "https://fuzz.invalid:8443/b?c=d#e", "http://fuzz.invalid/%2e%2e/x"];

    private readonly Random _random = new(seed);
    private readonly int _maxRequests = maxRequestsPerRegistration;

    /// <summary>The next <paramref name="count"/> cases.</summary>
    public IReadOnlyList<FuzzCase> Generate(int count) => [.. Enumerable.Range(0, count).Select(Next)];

    private FuzzCase Next(int number)
    {
        var headers = new List<(string, string)>();
        if (Pick(Scopes) is { } scope)
        {
            headers.Add(("X-BgFetch-Scope", scope));
        }

        // Half the cases create: the route that parses a body.
        if (_random.Next(2) == 0)
        {
            var (body, contentType) = CreateBody();
            if (contentType is not null)
            {
                headers.Add(("Content-Type", contentType));
            }

            var target = Chance(10) ? "/v1/registrations/" : "/v1/registrations" + (Chance(10) ? "?" + Pick(QueryParts) : "");
            return new FuzzCase(number, "POST", target, headers, body, Chunked: Chance(4));
        }

        var path = Pick(RouteShapes).Replace("{id}", Id(), StringComparison.Ordinal).Replace("{index}", Pick(IndexSegments), StringComparison.Ordinal)
            .Replace("{junk}", Chance(2) ? Pick(RawSegments) : Escape(Text()), StringComparison.Ordinal);
        if (Chance(3))
        {
            path += "?" + string.Join("&", Enumerable.Range(0, 1 + _random.Next(3)).Select(_ => Pick(QueryParts)));
        }

        // Kestrel refuses a request line over 8 KiB itself (414, before the app); keep every target inside it.
        path = path.Length > 7000 ? path[..7000] : path;
        var method = Pick(Methods);
        byte[]? junk = null;
        if (Chance(3))
        {
            junk = Encoding.UTF8.GetBytes(Chance(2) ? Text() : InvalidJson());
            headers.Add(("Content-Type", Chance(2) ? "application/json" : Pick(ContentTypes)));
        }

        return new FuzzCase(number, method, path, headers, junk, Chunked: junk is not null && Chance(4));
    }

    /// <summary>An id for a path: escaped random text, or a raw hostile segment.</summary>
    private string Id() => _random.Next(3) switch
    {
        0 => Pick(RawSegments),
        1 => Escape(Text()),
        _ => Escape(new string(Pick("a/.%\u0000\u4e2d"), 1 + _random.Next(Chance(5) ? 600 : 100))),
    };

    private static string Escape(string text) => Uri.EscapeDataString(text);

    /// <summary>Unicode, '/', '..', control characters, lone surrogates, right-to-left marks, long runs.</summary>
    private string Text()
    {
        var builder = new StringBuilder();
        var length = Chance(8) ? 500 + _random.Next(2000) : _random.Next(20);
        for (var i = 0; i < length; i++)
        {
            builder.Append(_random.Next(8) switch
            {
                0 => (char)_random.Next(0, 0x20),
                1 => Pick("/\\.%?#&=+ \"'<>{}[]`"),
                2 => (char)_random.Next(0x80, 0x800),
                3 => Pick("\u202e\u200b\ufeff\ufffd\u4e2d\u0430"),
                4 => "😀",
                5 => "..",
                _ => (char)_random.Next('a', 'z' + 1),
            });
        }

        return builder.ToString();
    }

    private bool Chance(int oneIn) => _random.Next(oneIn) == 0;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private char Pick(string chars) => chars[_random.Next(chars.Length)];
}
