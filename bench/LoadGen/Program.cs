// The bench/run.sh driver for BgFetchCluster: creates registrations through the HTTP API (docs/api.md) and
// waits until they settle, then prints one line "RESULT wall=<s> bytes=<n> registrations=<n>".
//
//   single <node> <urls-file>                  one registration holding every URL; waits for its terminal event (SSE)
//   many   <node> <urls-file> [concurrency]    one registration per URL from <concurrency> keep-alive clients
//                                              (default 16); waits until getIds() is empty
//
// Wall time runs from the first POST to the moment settlement is seen. The check that every registration
// succeeded with the right byte count (every registration) comes after the clock stops. Exit code 1 when anything failed.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

if (args.Length < 3 || args[0] is not ("single" or "many"))
{
    Console.Error.WriteLine("usage: LoadGen single|many <node-url> <urls-file> [concurrency]");
    return 2;
}

var node = new Uri(args[1]);
var urls = File.ReadAllLines(args[2]).Where(static l => l.Length > 0).ToArray();
var concurrency = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 16;
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency + 2, UseCookies = false })
{
    BaseAddress = node,
    Timeout = TimeSpan.FromMinutes(30),
};

return args[0] == "single" ? await SingleAsync() : await ManyAsync();

async Task<int> SingleAsync()
{
    var id = "bench-" + Guid.NewGuid().ToString("N")[..8];
    var body = new JsonObject { ["id"] = id, ["requests"] = new JsonArray([.. urls.Select(u => (JsonNode)u)]) };
    var clock = Stopwatch.StartNew();
    using (var created = await http.PostAsJsonAsync("/v1/registrations", body))
    {
        if (created.StatusCode != HttpStatusCode.Created)
        {
            Console.Error.WriteLine($"create: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
            return 1;
        }
    }

    // A subscriber that connects after settlement gets the terminal event at once (docs/api.md, Events).
    using var events = await http.GetAsync($"/v1/registrations/{id}/events", HttpCompletionOption.ResponseHeadersRead);
    using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
    string? type = null;
    string? data = null;
    while (await reader.ReadLineAsync() is { } line)
    {
        if (line.StartsWith("event:", StringComparison.Ordinal))
        {
            type = line[6..].Trim();
        }
        else if (line.StartsWith("data:", StringComparison.Ordinal))
        {
            data = line[5..].Trim();
        }
        else if (line.Length == 0 && type is not null && type.StartsWith("backgroundfetch", StringComparison.Ordinal))
        {
            break;
        }
    }

    var wall = clock.Elapsed.TotalSeconds;
    var view = data is null ? null : JsonNode.Parse(data);
    var downloaded = view?["downloaded"]?.GetValue<long>() ?? 0;
    Console.WriteLine(FormattableString.Invariant($"RESULT wall={wall:F3} bytes={downloaded} registrations=1"));
    if (type != "backgroundfetchsuccess")
    {
        Console.Error.WriteLine($"terminal event {type ?? "(none)"}: {data}");
        return 1;
    }

    return 0;
}

async Task<int> ManyAsync()
{
    var failures = 0;

    // The harness shares the node's 2 cores: every request body is serialized before the clock starts, and the
    // client's own HTTP code is warmed up against the origin (not the node), so the clock measures the node
    // rather than LoadGen's JIT and JSON work.
    var bodies = Enumerable.Range(0, urls.Length)
        .Select(i => Encoding.UTF8.GetBytes(new JsonObject { ["id"] = "r" + i.ToString(CultureInfo.InvariantCulture), ["requests"] = new JsonArray(urls[i]) }.ToJsonString()))
        .ToArray();
    using (var warmUp = new HttpClient())
    {
        await Parallel.ForEachAsync(urls.Take(64), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (url, cancellationToken) =>
            await warmUp.GetByteArrayAsync(url, cancellationToken));
    }

    var clock = Stopwatch.StartNew();
    await Parallel.ForEachAsync(
        Enumerable.Range(0, urls.Length),
        new ParallelOptions { MaxDegreeOfParallelism = concurrency },
        async (i, cancellationToken) =>
        {
            using var content = new ByteArrayContent(bodies[i]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var created = await http.PostAsync("/v1/registrations", content, cancellationToken);
            if (created.StatusCode != HttpStatusCode.Created)
            {
                if (Interlocked.Increment(ref failures) <= 3)
                {
                    Console.Error.WriteLine($"create r{i}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }
        });
    var createdAt = clock.Elapsed.TotalSeconds;

    // getIds() lists only unsettled registrations, and settlement is visible only once the id is free.
    while (true)
    {
        var ids = await http.GetFromJsonAsync<JsonObject>("/v1/registrations");
        if (ids!["ids"]!.AsArray().Count == 0)
        {
            break;
        }

        await Task.Delay(10);
    }

    var wall = clock.Elapsed.TotalSeconds;

    // Outside the clock: every registration must have succeeded, and every stored body (inline in the journal or in
    // a file) must be the origin's, byte for byte.
    long bytes = 0;
    var checkedCount = 0;
    using var origin = new HttpClient();
    await Parallel.ForEachAsync(
        Enumerable.Range(0, urls.Length),
        new ParallelOptions { MaxDegreeOfParallelism = concurrency },
        async (i, cancellationToken) =>
        {
            var view = await http.GetFromJsonAsync<JsonObject>($"/v1/registrations/r{i}", cancellationToken);
            Interlocked.Increment(ref checkedCount);
            Interlocked.Add(ref bytes, view!["downloaded"]!.GetValue<long>());
            if (view["result"]!.GetValue<string>() != "success" && Interlocked.Increment(ref failures) <= 3)
            {
                Console.Error.WriteLine($"r{i}: {view.ToJsonString()}");
            }

            var stored = await http.GetByteArrayAsync($"/v1/registrations/r{i}/records/0/body", cancellationToken);
            var expected = await origin.GetByteArrayAsync(urls[i], cancellationToken);
            if (!stored.AsSpan().SequenceEqual(expected) && Interlocked.Increment(ref failures) <= 3)
            {
                Console.Error.WriteLine($"r{i}: the stored body ({stored.Length} bytes) differs from the origin's ({expected.Length} bytes)");
            }
        });

    Console.Error.WriteLine(FormattableString.Invariant($"created {urls.Length} in {createdAt:F3} s, all settled at {wall:F3} s, checked {checkedCount}"));
    Console.WriteLine(FormattableString.Invariant($"RESULT wall={wall:F3} bytes={bytes * urls.Length / Math.Max(1, checkedCount)} registrations={urls.Length}"));
    return failures == 0 ? 0 : 1;
}
