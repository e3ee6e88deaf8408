using System.Text;
using System.Text.Json.Nodes;

namespace BgFetchCluster.Node.Tests.Fuzzing;

/// <summary>The create bodies: well-formed ones carrying a poison, and JSON that cannot parse.</summary>
public sealed partial class ApiFuzzer
{
    private (byte[]? Body, string? ContentType) CreateBody()
    {
        var contentType = _random.Next(10) switch
        {
            0 => Pick(ContentTypes),
            1 => null,
            _ => "application/json",
        };
        var body = _random.Next(10) switch
        {
            0 => _random.Next(4) switch
            {
                0 => [],
                1 => "   \r\n\t "u8.ToArray(),
                2 => [0xEF, 0xBB, 0xBF],
                _ => [(byte)_random.Next(256), (byte)_random.Next(256)],
            },
            1 or 2 => Encoding.UTF8.GetBytes(InvalidJson()),
            3 => Corrupt(Encoding.UTF8.GetBytes(PoisonedBody().ToJsonString())),
            _ => Encoding.UTF8.GetBytes(PoisonedBody().ToJsonString()),
        };
        if (Chance(500))
        {
            // Over the node's 16 MiB create limit (and a relative URL without a base, should the limit ever grow).
            body = Encoding.UTF8.GetBytes("{\"id\":\"x\",\"requests\":[\"" + new string('a', (16 * 1024 * 1024) + _random.Next(1000)) + "\"]}");
        }

        return (Chance(20) ? null : body, contentType);
    }

    /// <summary>A well-formed registration with one to three poisons, each of which the parser always refuses.</summary>
    private JsonObject PoisonedBody()
    {
        var body = new JsonObject
        {
            ["id"] = Chance(2) ? "fuzz" : Text() is { Length: > 0 and <= 256 } text && text is not "." and not ".." ? text : "fuzz",
            ["requests"] = new JsonArray([.. Enumerable.Range(0, 1 + _random.Next(3)).Select(_ => FineRequest())]),
        };
        if (Chance(2))
        {
            body["options"] = new JsonObject { ["title"] = Text(), ["downloadTotal"] = _random.Next(0, 1000), ["icons"] = new JsonArray(new JsonObject { ["src"] = "/i.png" }) };
        }

        for (var poisons = 1 + _random.Next(3); poisons > 0; poisons--)
        {
            Poison(body);
        }

        return body;
    }

    private JsonNode FineRequest() => Chance(2)
        ? JsonValue.Create(Pick(FineUrls))
        : new JsonObject { ["url"] = Pick(FineUrls), ["method"] = Pick(["GET", "POST", "PATCH", "custom"]), ["headers"] = new JsonObject { ["Accept"] = "*/*" } };

    private void Poison(JsonObject body)
    {
        var requests = body["requests"] as JsonArray;
        var index = requests is { Count: > 0 } ? _random.Next(requests.Count) : 0;
        JsonObject RequestObject()
        {
            if (requests is null)
            {
                requests = [];
                body["requests"] = requests;
            }

            if (requests.Count == 0)
            {
                requests.Add(FineRequest());
            }

            index = Math.Min(index, requests.Count - 1);
            if (requests[index] is not JsonObject request)
            {
                request = new JsonObject { ["url"] = Pick(FineUrls) };
                requests[index] = request;
            }

            return request;
        }

        switch (_random.Next(14))
        {
            case 0:
                body["id"] = _random.Next(6) switch
                {
                    0 => null,
                    1 => "",
                    2 => new string('x', 257 + _random.Next(5000)),
                    3 => Pick([".", ".."]),
                    4 => _random.Next(),
                    _ => new JsonArray("a"),
                };
                if (Chance(3))
                {
                    body.Remove("id");
                }

                break;
            case 1:
                body["requests"] = _random.Next(6) switch
                {
                    0 => null,
                    1 => new JsonArray(),
                    2 => new JsonObject { ["url"] = Pick(FineUrls) },
                    3 => Pick(FineUrls),
                    4 => new JsonArray([.. Enumerable.Range(0, _maxRequests + 1 + _random.Next(3)).Select(_ => (JsonNode)Pick(FineUrls))]),
                    _ => 42,
                };
                if (Chance(4))
                {
                    body.Remove("requests");
                }

                break;
            case 2:
                requests ??= [];
                body["requests"] = requests;
                requests.Insert(Math.Min(index, requests.Count), _random.Next(5) switch
                {
                    0 => null,
                    1 => 7,
                    2 => true,
                    3 => new JsonArray(Pick(FineUrls)),
                    _ => new JsonObject { ["url"] = _random.Next(3) switch { 0 => null, 1 => "", _ => 5 } },
                });
                break;
            case 3:
                // Every URL that the parser refuses: scheme, credentials, bad port, unparsable, relative without a base.
                body.Remove("baseUrl");
                var url = Pick([
                    "ftp://fuzz.invalid/", "file:///etc/passwd", "data:text/plain,hi", "javascript:alert(1)", "ws://fuzz.invalid/", "blob:http://x/y",
                    "gopher://fuzz.invalid:70/", "http://user:pass@fuzz.invalid/", "http://user@fuzz.invalid/", "https://u:@fuzz.invalid/",
                    "http://fuzz.invalid:25/", "http://fuzz.invalid:0/", "https://fuzz.invalid:6666/", "http://127.0.0.1:10080/", "http://[::1]:22/",
                    "http://fuzz.invalid:99999/", "http://fu zz.invalid/", "http://[::1", "relative/path", "/absolute/path", "", "http://", "//fuzz.invalid/x",
                ]);
                if (Chance(2))
                {
                    RequestObject()["url"] = url;
                }
                else
                {
                    requests = body["requests"] as JsonArray ?? [];
                    body["requests"] = requests;
                    requests.Add(url);
                }

                break;
            case 4:
                body["baseUrl"] = Pick<JsonNode?>(["ftp://fuzz.invalid/", "relative/", "", "http://", "not a url", 12, new JsonArray(), "javascript:x"]);
                break;
            case 5:
                RequestObject()["method"] = Pick<JsonNode?>([
                    "CONNECT", "TRACE", "TRACK", "trace", "Connect", "", "GE T", "GET\r\n", "G(ET", "\u00c4GET", "GET\u0000", "POST,GET", "{}", 5, new JsonObject(),
                ]);
                break;
            case 6:
                var onGet = RequestObject();
                onGet["method"] = Pick<JsonNode?>(["GET", "HEAD", "get", "head", null]);
                onGet["body"] = Pick<JsonNode?>(["", "aGk=", "!!!not base64!!!"]);
                if (onGet["method"] is null)
                {
                    onGet.Remove("method");
                }

                break;
            case 7:
                var post = RequestObject();
                post["method"] = "POST";
                post["body"] = Pick<JsonNode?>(["!!!", "a", "aGk", 5, new JsonArray(), "aGk=\u0000"]);
                break;
            case 8:
                RequestObject()["headers"] = _random.Next(10) switch
                {
                    0 => new JsonArray("Accept"),
                    1 => "Accept: */*",
                    2 => new JsonObject { ["X-Null"] = null },
                    3 => new JsonObject { ["X-Number"] = 5 },
                    4 => new JsonObject { [Pick(["", "Bad Header", "a:b", "\u00fc", "a\r\nb", "(x)", "a\u0000"])] = "v" },
                    5 => new JsonObject { ["X-Value"] = Pick(["a\r\nInjected: x", "a\nb", "a\rb", "\u0000", "\u0100", "\u4e2d", "😀"]) },
                    6 => new JsonObject { ["X-Object"] = new JsonObject() },
                    7 => 12,
                    8 => new JsonObject { ["X-Array"] = new JsonArray("a") },
                    _ => new JsonObject { ["X-Ok"] = "fine", ["X-Bool"] = true },
                };
                break;
            case 9:
                body["options"] = _random.Next(12) switch
                {
                    0 => new JsonObject { ["downloadTotal"] = -1 - _random.Next(1000) },
                    1 => new JsonObject { ["downloadTotal"] = Pick(["twelve", "-12", "1e400", ""]) },
                    2 => new JsonObject { ["downloadTotal"] = 1.5 },
                    3 => new JsonObject { ["downloadTotal"] = true },
                    4 => new JsonArray(),
                    5 => "options",
                    6 => new JsonObject { ["icons"] = new JsonArray((JsonNode?)null) },
                    7 => new JsonObject { ["icons"] = new JsonArray(new JsonObject()) },
                    8 => new JsonObject { ["icons"] = new JsonArray(new JsonObject { ["src"] = "" }) },
                    9 => new JsonObject { ["icons"] = new JsonArray(new JsonObject { ["src"] = 5 }) },
                    10 => new JsonObject { ["icons"] = "icon.png" },
                    _ => new JsonObject { ["title"] = new JsonObject() },
                };
                break;
            case 10:
                body["notify"] = Pick<JsonNode?>([
                    new JsonObject { ["url"] = "ftp://fuzz.invalid/" }, new JsonObject { ["url"] = "http://fuzz.invalid:25/" },
                    new JsonObject { ["url"] = "http://u:p@fuzz.invalid/" }, new JsonObject { ["url"] = "/hook" }, new JsonObject { ["url"] = 5 },
                    "http://fuzz.invalid/", new JsonArray(),
                ]);
                break;
            case 11:
                body["options"] = new JsonObject { ["title"] = "x", ["downloadTotal"] = -1 };
                body["extra"] = new JsonObject { ["deep"] = Nested(_random.Next(1, 20)) };
                break;
            case 12:
                body["requests"] = new JsonArray(new JsonObject { ["url"] = Pick(FineUrls), ["method"] = "TRACE", ["headers"] = Nested(_random.Next(1, 25)) });
                break;
            default:
                body["id"] = Chance(2) ? new JsonObject { ["id"] = "x" } : false;
                break;
        }
    }

    private static JsonNode Nested(int depth)
    {
        JsonNode node = "leaf";
        for (var i = 0; i < depth; i++)
        {
            node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["k"] = node };
        }

        return node;
    }

    /// <summary>Text that no JSON parser accepts (or, for a registration, that is the wrong shape at the root).</summary>
    private string InvalidJson()
    {
        var url = Pick(FineUrls);
        var depth = 33 + _random.Next(Chance(4) ? 100_000 : 200);
        return _random.Next(20) switch
        {
            0 => $$$"""{"id":"x","requests":["{{{url}}}"]""",
            1 => $$$"""{"id":"x","requests":["{{{url}}}"],}""",
            2 => $$$"""{'id':'x','requests':['{{{url}}}']}""",
            3 => $$$"""{"id":"x","id":"y","requests":["{{{url}}}"]}""",
            4 => $$$"""{"id":"x","requests":[{"url":"{{{url}}}","headers":{"A":"1","A":"2"}}]}""",
            5 => $$$"""{"id":"x","requests":["{{{url}}}"],"options":{"downloadTotal":1e400}}""",
            6 => $$$"""{"id":"x","requests":["{{{url}}}"],"options":{"downloadTotal":18446744073709551616}}""",
            7 => $$$"""{"id":"x","requests":["{{{url}}}"],"options":{"downloadTotal":NaN}}""",
            8 => $$$"""{"id":"x",/*c*/"requests":["{{{url}}}"]}""",
            9 => new string('[', depth) + new string(']', depth),
            10 => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth),
            11 => $$$"""{"id":"x","requests":[{{{string.Concat(Enumerable.Repeat("{\"url\":", depth))}}}"{{{url}}}"{{{new string('}', depth)}}}]}""",
            12 => Pick(["[]", "\"x\"", "42", "null", "true", "[{\"id\":\"x\"}]"]),
            13 => $$$"""{"id":"x\u","requests":["{{{url}}}"]}""",
            14 => $$$"""{"id":"x\ud800","requests":["{{{url}}}"]}""" + "}",
            15 => "{\"id\":\"x\u0001\",\"requests\":[\"" + url + "\"]}",
            16 => $$$"""{"id":"x","requests":["{{{url}}}"]} {"id":"y"}""",
            17 => $$$"""{"id":"x","requests":["{{{url}}}"],"options":{"downloadTotal":-0.0e-999999}}""",
            18 => $$$"""{"id":x,"requests":["{{{url}}}"]}""",
            _ => $$$"""{"id":"x","requests":["{{{url}}}"]""" + new string(' ', _random.Next(10)) + Pick(["]", ",", ":", "\"", "{"]),
        };
    }

    /// <summary>Breaks JSON for certain: a strict prefix of an object, an unescaped control byte, or a byte that is not UTF-8.</summary>
    private byte[] Corrupt(byte[] json) => _random.Next(3) switch
    {
        0 => json[..(json.Length - 1 - _random.Next(json.Length - 1))],
        1 => [.. json[..1], .. new byte[] { (byte)_random.Next(0, 0x20) }, .. json[1..]],
        _ => [.. json[..^1], 0xFF, .. json[^1..]],
    };
}
