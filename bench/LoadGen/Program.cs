// The bench drivers for BgFetchCluster (bench/run.sh, bench/run-cluster.sh): create registrations through the HTTP API
// (docs/api.md) and wait until they settle, then print one line "RESULT wall=<s> bytes=<n> registrations=<n>".
//
//   single <nodes> <urls-file>                  one registration holding every URL; waits for its terminal event (SSE)
//   many   <nodes> <urls-file> [concurrency]    one registration per URL from <concurrency> keep-alive clients
//                                              (default 16); waits until getIds() is empty in every scope used
//   wait   <nodes>                              waits until getIds() is empty in every scope used
//   hold-origin <port> <size>                   W5's origin: holds every answer until POST /__release (Origins.cs)
//   latency <nodes> --pids p1,p2,..             cross-node progress latency (ClusterModes.cs)
//   failover <nodes> --pids p1,p2,.. --kill i   kill -9 of node i with downloads running; time to progress again
//   probe <nodes> [--scopes N] ...              W5 after a kill: time until sampled registrations answer again
//
// <nodes> is one node URL or several, comma-separated: requests go round-robin over them.
// Options: --scopes N (the X-BgFetch-Scope header: "s0".."s<N-1>" by registration; without it no header, the
// "default" scope), --prefix P (registration ids P0, P1, ...; default "r"), --no-wait (many: stop once every
// registration is created), --from F --to T (many: only the registrations F..T-1 of the file, ids and scopes as in a
// whole run, so a backlog can be created in steps; with --no-wait), --no-check (many: skip the byte-for-byte check after the clock), --cpu-pids p1,p2 (cpu=<s> in
// RESULT: the CPU, utime + stime, of those processes while the clock ran, without the checks after it), --at-clock-stop
// <command> (run with /bin/sh -c when the clock stops, before the check; waited for: run-cluster.sh reads the
// database's counters there, so W4's read-back is not counted in them).
//
// Wall time runs from the first POST to the moment settlement is seen. The check that every registration
// succeeded with the right byte count (every registration) comes after the clock stops. Exit code 1 when anything failed.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

var positional = new List<string>();
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var a = 0; a < args.Length; a++)
{
    if (args[a].StartsWith("--", StringComparison.Ordinal))
    {
        var name = args[a][2..];
        options[name] = name is "no-wait" or "no-check" ? "1" : args[++a];
    }
    else
    {
        positional.Add(args[a]);
    }
}

if (positional.Count < 2 || positional[0] is not ("single" or "many" or "wait" or "hold-origin" or "latency" or "failover" or "probe"))
{
    Console.Error.WriteLine("usage: LoadGen single|many|wait|hold-origin|latency|failover|probe <node-url[,node-url...]> ... (see Program.cs)");
    return 2;
}

if (positional[0] == "hold-origin")
{
    await new HoldOrigin(int.Parse(positional[2], CultureInfo.InvariantCulture)).RunAsync(int.Parse(positional[1], CultureInfo.InvariantCulture), CancellationToken.None);
    return 0;
}

var nodes = positional[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(static n => new Uri(n)).ToArray();
var concurrency = positional.Count > 3 ? int.Parse(positional[3], CultureInfo.InvariantCulture) : 16;
var scopes = options.TryGetValue("scopes", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 0;
var prefix = options.GetValueOrDefault("prefix", "r");
var clients = nodes.Select(n => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency + 2, UseCookies = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) })
{
    BaseAddress = n,
    Timeout = TimeSpan.FromMinutes(30),
}).ToArray();
var http = clients[0];

// --cpu-pids p1,p2: the CPU (utime + stime, /proc/<pid>/stat) those processes use while the clock runs, printed as
// cpu=<s> in the RESULT line: the node's CPU per unit without the checks after the clock (they read every registration).
var cpuPids = options.TryGetValue("cpu-pids", out var cp) ? cp.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(static p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray() : [];
long CpuTicks() => cpuPids.Sum(static pid =>
{
    try
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
    catch (IOException)
    {
        return 0L;
    }
});
string CpuField(long from) => cpuPids.Length == 0 ? "" : FormattableString.Invariant($" cpu={(CpuTicks() - from) / 100.0:F2}");

async Task AtClockStopAsync()
{
    if (options.TryGetValue("at-clock-stop", out var command))
    {
        using var hook = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", command } })!;
        await hook.WaitForExitAsync();
    }
}

string? ScopeOf(int i) => scopes > 0 ? "s" + (i % scopes).ToString(CultureInfo.InvariantCulture) : null;

HttpRequestMessage Request(HttpMethod method, string path, string? scope, HttpContent? content = null)
{
    var request = new HttpRequestMessage(method, path) { Content = content };
    if (scope is not null)
    {
        request.Headers.Add("X-BgFetch-Scope", scope);
    }

    return request;
}

return positional[0] switch
{
    "single" => await SingleAsync(positional[2]),
    "many" => await ManyAsync(positional[2]),
    "wait" => await WaitAllSettledAsync(Stopwatch.StartNew()) >= 0 ? 0 : 1,
    "latency" => await ClusterModes.LatencyAsync(clients, options),
    "failover" => await ClusterModes.FailoverAsync(clients, options),
    _ => await ClusterModes.ProbeAsync(clients, options),
};

async Task<int> SingleAsync(string urlsFile)
{
    var urls = File.ReadAllLines(urlsFile).Where(static l => l.Length > 0).ToArray();
    var id = "bench-" + Guid.NewGuid().ToString("N")[..8];
    var body = new JsonObject { ["id"] = id, ["requests"] = new JsonArray([.. urls.Select(u => (JsonNode)u)]) };
    var cpu0 = CpuTicks();
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
    var cpu = CpuField(cpu0);
    await AtClockStopAsync();
    var view = data is null ? null : JsonNode.Parse(data);
    var downloaded = view?["downloaded"]?.GetValue<long>() ?? 0;
    Console.WriteLine(FormattableString.Invariant($"RESULT wall={wall:F3} bytes={downloaded} registrations=1{cpu}"));
    if (type != "backgroundfetchsuccess")
    {
        Console.Error.WriteLine($"terminal event {type ?? "(none)"}: {data}");
        return 1;
    }

    return 0;
}

// Polls getIds() of every scope in use (through the first node) until all are empty; returns the wall time, -1 on error.
async Task<double> WaitAllSettledAsync(Stopwatch clock)
{
    var pending = scopes > 0 ? Enumerable.Range(0, scopes).Select(i => (string?)("s" + i.ToString(CultureInfo.InvariantCulture))).ToList() : [null];
    while (pending.Count > 0)
    {
        var still = new List<string?>();
        foreach (var scope in pending)
        {
            using var response = await http.SendAsync(Request(HttpMethod.Get, "/v1/registrations", scope));
            var ids = await response.Content.ReadFromJsonAsync<JsonObject>();
            if (ids!["ids"]!.AsArray().Count > 0)
            {
                still.Add(scope);
            }
        }

        pending = still;
        if (pending.Count > 0)
        {
            await Task.Delay(10);
        }
    }

    return clock.Elapsed.TotalSeconds;
}

async Task<int> ManyAsync(string urlsFile)
{
    var urls = File.ReadAllLines(urlsFile).Where(static l => l.Length > 0).ToArray();
    var failures = 0;

    // The harness shares the node's 2 cores: every request body is serialized before the clock starts, and the
    // client's own HTTP code is warmed up against the origin (not the node), so the clock measures the node
    // rather than LoadGen's JIT and JSON work.
    var bodies = Enumerable.Range(0, urls.Length)
        .Select(i => Encoding.UTF8.GetBytes(new JsonObject { ["id"] = prefix + i.ToString(CultureInfo.InvariantCulture), ["requests"] = new JsonArray(urls[i]) }.ToJsonString()))
        .ToArray();
    if (!options.ContainsKey("no-check"))
    {
        using var warmUp = new HttpClient();
        await Parallel.ForEachAsync(urls.Take(64), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (url, cancellationToken) =>
            await warmUp.GetByteArrayAsync(url, cancellationToken));
    }

    var from = options.TryGetValue("from", out var f) ? int.Parse(f, CultureInfo.InvariantCulture) : 0;
    var to = options.TryGetValue("to", out var t) ? int.Parse(t, CultureInfo.InvariantCulture) : urls.Length;
    var cpu0 = CpuTicks();
    var clock = Stopwatch.StartNew();
    await Parallel.ForEachAsync(
        Enumerable.Range(from, to - from),
        new ParallelOptions { MaxDegreeOfParallelism = concurrency },
        async (i, cancellationToken) =>
        {
            using var content = new ByteArrayContent(bodies[i]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var request = Request(HttpMethod.Post, "/v1/registrations", ScopeOf(i), content);
            using var created = await clients[i % clients.Length].SendAsync(request, cancellationToken);
            if (created.StatusCode != HttpStatusCode.Created)
            {
                if (Interlocked.Increment(ref failures) <= 3)
                {
                    Console.Error.WriteLine($"create {prefix}{i}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }
        });
    var createdAt = clock.Elapsed.TotalSeconds;
    if (options.ContainsKey("no-wait"))
    {
        Console.Error.WriteLine(FormattableString.Invariant($"created {to - from} in {createdAt:F3} s, {failures} failures"));
        Console.WriteLine(FormattableString.Invariant($"RESULT wall={createdAt:F3} bytes=0 registrations={to - from}{CpuField(cpu0)}"));
        return failures == 0 ? 0 : 1;
    }

    // getIds() lists only unsettled registrations, and settlement is visible only once the id is free.
    var wall = await WaitAllSettledAsync(clock);
    var cpu = CpuField(cpu0);
    await AtClockStopAsync();
    if (options.ContainsKey("no-check"))
    {
        Console.Error.WriteLine(FormattableString.Invariant($"created {urls.Length} in {createdAt:F3} s, all settled at {wall:F3} s, not checked"));
        Console.WriteLine(FormattableString.Invariant($"RESULT wall={wall:F3} bytes={urls.Length * 1024L} registrations={urls.Length}{cpu}"));
        return failures == 0 ? 0 : 1;
    }

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
            var scope = ScopeOf(i);
            var node = clients[(i + 1) % clients.Length];
            using var got = await node.SendAsync(Request(HttpMethod.Get, $"/v1/registrations/{prefix}{i}", scope), cancellationToken);
            var view = await got.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
            Interlocked.Increment(ref checkedCount);
            Interlocked.Add(ref bytes, view!["downloaded"]?.GetValue<long>() ?? 0);
            if (view["result"]?.GetValue<string>() != "success" && Interlocked.Increment(ref failures) <= 3)
            {
                Console.Error.WriteLine($"{prefix}{i}: {view.ToJsonString()}");
            }

            using var body = await node.SendAsync(Request(HttpMethod.Get, $"/v1/registrations/{prefix}{i}/records/0/body", scope), cancellationToken);
            var stored = await body.Content.ReadAsByteArrayAsync(cancellationToken);
            var expected = await origin.GetByteArrayAsync(urls[i], cancellationToken);
            if (!stored.AsSpan().SequenceEqual(expected) && Interlocked.Increment(ref failures) <= 3)
            {
                Console.Error.WriteLine($"{prefix}{i}: the stored body ({stored.Length} bytes) differs from the origin's ({expected.Length} bytes)");
            }
        });

    Console.Error.WriteLine(FormattableString.Invariant($"created {urls.Length} in {createdAt:F3} s, all settled at {wall:F3} s, checked {checkedCount}"));
    Console.WriteLine(FormattableString.Invariant($"RESULT wall={wall:F3} bytes={bytes * urls.Length / Math.Max(1, checkedCount)} registrations={urls.Length}{cpu}"));
    return failures == 0 ? 0 : 1;
}
