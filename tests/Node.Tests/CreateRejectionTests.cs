using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Every way docs/api.md (and the Background Fetch and Fetch standards behind it) refuses a
/// <c>fetch()</c>: the status, the problem's DOMException <c>name</c>, and that nothing was stored.
/// </summary>
public sealed class CreateRejectionTests(CreateRejectionTests.Node node) : IClassFixture<CreateRejectionTests.Node>
{
    private const int MaxRequests = 3;
    private const int MaxBodyBytes = 16 * 1024 * 1024;
    private const string Url = "http://fuzz.invalid/a";

    /// <summary>One refused creation: the body, its content type, and the answer docs/api.md gives.</summary>
    private sealed record Rejection(Func<HttpContent> Body, HttpStatusCode Status, string Name);

    private static readonly Dictionary<string, Rejection> Rejections = new(StringComparer.Ordinal)
    {
        // id
        ["id missing"] = TypeError($$$"""{"requests":["{{{Url}}}"]}"""),
        ["id empty"] = TypeError($$$"""{"id":"","requests":["{{{Url}}}"]}"""),
        ["id null"] = TypeError($$$"""{"id":null,"requests":["{{{Url}}}"]}"""),
        ["id of 257 characters"] = TypeError($$$"""{"id":"{{{new string('x', 257)}}}","requests":["{{{Url}}}"]}"""),
        ["id '.' (no URL path can name it)"] = TypeError($$$"""{"id":".","requests":["{{{Url}}}"]}"""),
        ["id '..' (no URL path can name it)"] = TypeError($$$"""{"id":"..","requests":["{{{Url}}}"]}"""),
        ["id a number"] = TypeError($$$"""{"id":42,"requests":["{{{Url}}}"]}"""),

        // requests
        ["requests missing"] = TypeError("""{"id":"x"}"""),
        ["requests null"] = TypeError("""{"id":"x","requests":null}"""),
        ["requests empty"] = TypeError("""{"id":"x","requests":[]}"""),
        ["requests an object"] = TypeError($$$"""{"id":"x","requests":{"url":"{{{Url}}}"}}"""),
        ["requests more than MaxRequestsPerRegistration"] = TypeError($$$"""{"id":"x","requests":[{{{string.Join(",", Enumerable.Repeat($"\"{Url}\"", MaxRequests + 1))}}}]}"""),
        ["request null"] = TypeError("""{"id":"x","requests":[null]}"""),
        ["request a number"] = TypeError("""{"id":"x","requests":[7]}"""),
        ["request object without url"] = TypeError("""{"id":"x","requests":[{"method":"GET"}]}"""),

        // URLs
        ["url relative without baseUrl"] = TypeError("""{"id":"x","requests":["relative/path"]}"""),
        ["url does not parse"] = TypeError("""{"id":"x","requests":["http://[::1"]}"""),
        ["url port out of range"] = TypeError("""{"id":"x","requests":["http://fuzz.invalid:99999/"]}"""),
        ["scheme ftp"] = TypeError("""{"id":"x","requests":["ftp://fuzz.invalid/"]}"""),
        ["scheme file"] = TypeError("""{"id":"x","requests":["file:///etc/passwd"]}"""),
        ["scheme data"] = TypeError("""{"id":"x","requests":["data:text/plain,hi"]}"""),
        ["scheme javascript"] = TypeError("""{"id":"x","requests":["javascript:alert(1)"]}"""),
        ["scheme ws"] = TypeError("""{"id":"x","requests":["ws://fuzz.invalid/"]}"""),
        ["scheme blob"] = TypeError("""{"id":"x","requests":["blob:http://fuzz.invalid/1"]}"""),
        ["scheme ftp after resolving against baseUrl"] = TypeError("""{"id":"x","requests":["ftp://fuzz.invalid/a"],"baseUrl":"http://fuzz.invalid/"}"""),
        ["baseUrl ftp"] = TypeError("""{"id":"x","requests":["a"],"baseUrl":"ftp://fuzz.invalid/"}"""),
        ["baseUrl relative"] = TypeError("""{"id":"x","requests":["a"],"baseUrl":"relative/"}"""),
        ["credentials user:pass@"] = TypeError("""{"id":"x","requests":["http://user:pass@fuzz.invalid/"]}"""),
        ["credentials user@"] = TypeError("""{"id":"x","requests":["https://user@fuzz.invalid/"]}"""),
        ["credentials from baseUrl"] = TypeError("""{"id":"x","requests":["a"],"baseUrl":"http://user:pass@fuzz.invalid/"}"""),
        ["bad port 25 (smtp)"] = TypeError("""{"id":"x","requests":["http://fuzz.invalid:25/"]}"""),
        ["bad port 0"] = TypeError("""{"id":"x","requests":["http://fuzz.invalid:0/"]}"""),
        ["bad port 22 on https"] = TypeError("""{"id":"x","requests":["https://fuzz.invalid:22/"]}"""),
        ["bad port 6666 (irc)"] = TypeError("""{"id":"x","requests":["http://fuzz.invalid:6666/"]}"""),
        ["bad port 10080 (last on the list)"] = TypeError("""{"id":"x","requests":["http://127.0.0.1:10080/"]}"""),
        ["bad port on IPv6"] = TypeError("""{"id":"x","requests":["http://[::1]:6000/"]}"""),

        // methods
        ["method CONNECT"] = TypeError(Request("\"method\":\"CONNECT\"")),
        ["method TRACE"] = TypeError(Request("\"method\":\"TRACE\"")),
        ["method TRACK"] = TypeError(Request("\"method\":\"TRACK\"")),
        ["method trace (any case)"] = TypeError(Request("\"method\":\"trace\"")),
        ["method empty"] = TypeError(Request("\"method\":\"\"")),
        ["method with a space"] = TypeError(Request("\"method\":\"GE T\"")),
        ["method with CRLF"] = TypeError(Request("\"method\":\"GET\\r\\nX: y\"")),
        ["method with a separator"] = TypeError(Request("\"method\":\"G(ET\"")),
        ["method non-ASCII"] = TypeError(Request("\"method\":\"G\u00c4T\"")),
        ["method a number"] = TypeError(Request("\"method\":5")),

        // bodies
        ["body on GET"] = TypeError(Request("\"method\":\"GET\",\"body\":\"aGk=\"")),
        ["body on HEAD"] = TypeError(Request("\"method\":\"HEAD\",\"body\":\"aGk=\"")),
        ["body on the default method (GET)"] = TypeError(Request("\"body\":\"aGk=\"")),
        ["empty body on get (normalized to GET)"] = TypeError(Request("\"method\":\"get\",\"body\":\"\"")),
        ["body not base64"] = TypeError(Request("\"method\":\"POST\",\"body\":\"!!!\"")),

        // headers
        ["header name empty"] = TypeError(Request("\"headers\":{\"\":\"v\"}")),
        ["header name with a space"] = TypeError(Request("\"headers\":{\"Bad Header\":\"v\"}")),
        ["header name with a colon"] = TypeError(Request("\"headers\":{\"a:b\":\"v\"}")),
        ["header name non-ASCII"] = TypeError(Request("\"headers\":{\"\u00fc\":\"v\"}")),
        ["header value with CRLF (injection)"] = TypeError(Request("\"headers\":{\"X-A\":\"a\\r\\nInjected: x\"}")),
        ["header value with LF"] = TypeError(Request("\"headers\":{\"X-A\":\"a\\nb\"}")),
        ["header value with NUL"] = TypeError(Request("\"headers\":{\"X-A\":\"a\\u0000b\"}")),
        ["header value above U+00FF (not a ByteString)"] = TypeError(Request("\"headers\":{\"X-A\":\"\u4e2d\"}")),
        ["header value null"] = TypeError(Request("\"headers\":{\"X-A\":null}")),
        ["header value a number"] = TypeError(Request("\"headers\":{\"X-A\":5}")),
        ["headers an array"] = TypeError(Request("\"headers\":[\"Accept\"]")),

        // options and notify
        ["downloadTotal negative"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"downloadTotal":-1}}"""),
        ["downloadTotal 1e400"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"downloadTotal":1e400}}"""),
        ["downloadTotal 2^64"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"downloadTotal":18446744073709551616}}"""),
        ["downloadTotal not an integer"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"downloadTotal":1.5}}"""),
        ["icon null"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"icons":[null]}}"""),
        ["icon without src"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"icons":[{"sizes":"1x1"}]}}"""),
        ["notify scheme ftp"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"notify":{"url":"ftp://fuzz.invalid/"}}"""),
        ["notify credentials"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"notify":{"url":"http://u:p@fuzz.invalid/"}}"""),
        ["notify bad port"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"notify":{"url":"http://fuzz.invalid:25/"}}"""),

        // malformed JSON
        ["JSON truncated"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"]"""),
        ["JSON trailing comma"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],}"""),
        ["JSON single quotes"] = TypeError($$$"""{'id':'x','requests':['{{{Url}}}']}"""),
        ["JSON comment"] = TypeError($$$"""{"id":"x",/* c */"requests":["{{{Url}}}"]}"""),
        ["JSON NaN"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"],"options":{"downloadTotal":NaN}}"""),
        ["JSON duplicate key"] = TypeError($$$"""{"id":"x","id":"y","requests":["{{{Url}}}"]}"""),
        ["JSON duplicate header key"] = TypeError(Request("\"headers\":{\"A\":\"1\",\"A\":\"2\"}")),
        ["JSON two values"] = TypeError($$$"""{"id":"x","requests":["{{{Url}}}"]} {}"""),
        ["JSON nested deeper than 32"] = TypeError(string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40)),
        ["JSON an array at the root"] = TypeError($$$"""[{"id":"x","requests":["{{{Url}}}"]}]"""),
        ["JSON null at the root"] = TypeError("null"),
        ["JSON invalid UTF-8"] = new(() => Json([.. "{\"id\":\"x"u8, 0xFF, .. "\",\"requests\":[\"http://fuzz.invalid/a\"]}"u8]), HttpStatusCode.BadRequest, "TypeError"),
        ["JSON lone surrogate escape"] = TypeError($$$"""{"id":"x\ud800","requests":["{{{Url}}}"]}"""),
        ["empty body"] = TypeError(""),

        // content type and size
        ["content type text/plain"] = new(() => new StringContent($$$"""{"id":"x","requests":["{{{Url}}}"]}""", Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType, "TypeError"),
        ["content type form"] = new(() => new FormUrlEncodedContent([new("id", "x")]), HttpStatusCode.UnsupportedMediaType, "TypeError"),
        ["content type missing"] = new(() => new ByteArrayContent(Encoding.UTF8.GetBytes($$$"""{"id":"x","requests":["{{{Url}}}"]}""")), HttpStatusCode.UnsupportedMediaType, "TypeError"),
        ["JSON in UTF-16"] = new(() => new StringContent($$$"""{"id":"x","requests":["{{{Url}}}"]}""", Encoding.Unicode, "application/json"), HttpStatusCode.UnsupportedMediaType, "TypeError"),
        ["body over 16 MiB (Content-Length)"] = new(() => Json(Oversized()), HttpStatusCode.BadRequest, "TypeError"),
        ["body over 16 MiB (chunked)"] = new(() => Chunked(Oversized()), HttpStatusCode.BadRequest, "TypeError"),
    };

    public static TheoryData<string> Cases => [.. Rejections.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Create_Rejected_AnswersPerApiMd_AndStoresNothing(string rejection)
    {
        var expected = Rejections[rejection];
        using var content = expected.Body();
        using var response = await node.Client.PostAsync(new Uri("v1/registrations", UriKind.Relative), content);

        Assert.True(expected.Status == response.StatusCode, $"expected {expected.Status}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(expected.Name, problem.GetProperty("name").GetString());
        Assert.Equal((int)expected.Status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));

        var ids = await node.Client.GetFromJsonAsync(new Uri("v1/registrations", UriKind.Relative), ApiJsonContext.Default.IdsBody);
        Assert.Empty(ids!.Ids);
        foreach (var id in new[] { "x", "y" })
        {
            Assert.Null(await node.Client.GetRegistrationAsync(id));
        }

        await StoredState.AssertNothingStoredAsync(node.Factory.DataDirectory, rejection);
    }

    private static Rejection TypeError(string json) => new(() => new StringContent(json, Encoding.UTF8, "application/json"), HttpStatusCode.BadRequest, "TypeError");

    private static string Request(string members) => "{\"id\":\"x\",\"requests\":[{\"url\":\"" + Url + "\"," + members + "}]}";

    private static ByteArrayContent Json(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>A body with no declared length, as a chunked upload sends it.</summary>
    private static StreamContent Chunked(byte[] bytes)
    {
        var content = new StreamContent(new UnseekableStream(bytes));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static byte[] Oversized() =>
        Encoding.UTF8.GetBytes("{\"id\":\"x\",\"requests\":[\"" + Url + "\"],\"options\":{\"title\":\"" + new string('t', MaxBodyBytes) + "\"}}");

    /// <summary>A node shared by the cases, so that "nothing stored" also holds across all of them.</summary>
    public sealed class Node : IAsyncLifetime
    {
        public NodeFactory Factory { get; } = new NodeFactory().With("BgFetch:Limits:MaxRequestsPerRegistration", MaxRequests.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public HttpClient Client { get; private set; } = null!;

        public Task InitializeAsync()
        {
            Client = Factory.CreateClient();
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            Client.Dispose();
            await Factory.DisposeAsync();
        }
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
