// bench/run-cluster.sh's measurements that need a clock shared between the origin and the subscriber: cross-node
// progress latency and the failover time after kill -9, both against the in-process DripOrigin (Origins.cs); and W5's
// probe of a backlog through a node kill.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

internal static class ClusterModes
{
    private static int Int(Dictionary<string, string> o, string name, int fallback) =>
        o.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    private static int[] Pids(Dictionary<string, string> o) =>
        o.TryGetValue("pids", out var v) ? [.. v.Split(',').Select(static p => int.Parse(p, CultureInfo.InvariantCulture))] : [];

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task CreateAsync(HttpClient node, string id, string url)
    {
        using var created = await node.PostAsJsonAsync("/v1/registrations", new JsonObject { ["id"] = id, ["requests"] = new JsonArray(url) });
        if (created.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"create {id}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task<JsonObject?> TryGetAsync(HttpClient node, string path, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await node.GetAsync(path, cts.Token);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>(cts.Token) : null;
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Cross-node progress latency. Each registration drips chunk-kib KiB every interval-ms ms from the DripOrigin; every
    /// node subscribes to every registration's events. For a progress event that reports <c>downloaded = D</c>, received
    /// at time r, the latency is r minus the time the origin finished writing byte D to its socket (one clock: both run in
    /// this process). The owner is the node whose process holds the fetch's socket. The first event of each stream (the
    /// current state at subscription) is not counted.
    /// </summary>
    public static async Task<int> LatencyAsync(HttpClient[] nodes, Dictionary<string, string> o)
    {
        var pids = Pids(o);
        var count = Int(o, "registrations", 12);
        var origin = new DripOrigin(Int(o, "chunk-kib", 256) * 1024, Int(o, "chunks", 40), TimeSpan.FromMilliseconds(Int(o, "interval-ms", 250)));
        using var stop = new CancellationTokenSource();
        _ = origin.StartAsync(stop.Token);
        var run = Guid.NewGuid().ToString("N")[..6];
        var ids = Enumerable.Range(0, count).Select(k => $"lat{run}-{k}").ToArray();
        var samples = new System.Collections.Concurrent.ConcurrentBag<(string Id, int Node, long Received, long Downloaded)>();
        var streams = new List<Task>();
        for (var k = 0; k < count; k++)
        {
            await CreateAsync(nodes[k % nodes.Length], ids[k], $"http://127.0.0.1:{origin.Port}/drip/{ids[k]}");
            for (var n = 0; n < nodes.Length; n++)
            {
                streams.Add(ReadEventsAsync(nodes[n], ids[k], n, samples));
            }
        }

        await Task.WhenAll(streams);
        stop.Cancel();

        var owners = ids.ToDictionary(static id => id, id => origin.Latest.TryGetValue(id, out var l) ? Array.IndexOf(pids, SocketOwnerCache.Get(l.Port, pids)) : -1);
        var local = new List<double>();
        var cross = new List<double>();
        foreach (var (id, node, received, downloaded) in samples)
        {
            if (origin.SentAt(id, downloaded) is { } sent)
            {
                (node == owners[id] ? local : cross).Add(Ms(sent, received));
            }
        }

        local.Sort();
        cross.Sort();
        Console.Error.WriteLine($"owners: {string.Join(' ', owners.Values)} (index into --pids; -1 unknown)");
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT cross_p50_ms={Percentile(cross, 0.5):F1} cross_p99_ms={Percentile(cross, 0.99):F1} cross_max_ms={(cross.Count > 0 ? cross[^1] : double.NaN):F1} cross_n={cross.Count} local_p50_ms={Percentile(local, 0.5):F1} local_p99_ms={Percentile(local, 0.99):F1} local_n={local.Count}"));
        return cross.Count > 0 ? 0 : 1;
    }

    private static async Task ReadEventsAsync(HttpClient node, string id, int index, System.Collections.Concurrent.ConcurrentBag<(string, int, long, long)> samples)
    {
        using var events = await node.GetAsync($"/v1/registrations/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        string? type = null;
        string? data = null;
        var first = true;
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
            else if (line.Length == 0 && type is not null)
            {
                var received = Stopwatch.GetTimestamp();
                var downloaded = JsonNode.Parse(data!)?["downloaded"]?.GetValue<long>() ?? 0;
                if (!first && type == "progress" && downloaded > 0)
                {
                    samples.Add((id, index, received, downloaded));
                }

                first = false;
                if (type.StartsWith("backgroundfetch", StringComparison.Ordinal))
                {
                    return;
                }

                type = null;
            }
        }
    }

    /// <summary>
    /// Failover: registrations drip from the DripOrigin over every node; once all are downloading, node --kill i gets
    /// SIGKILL. "Moved" are those whose fetch ran in the killed process. The failover time of a moved registration is
    /// from the kill to the first answer of a surviving node's API (GET /v1/registrations/{id}, polled every 50 ms)
    /// that shows more bytes downloaded than the API showed just before the kill.
    /// </summary>
    public static async Task<int> FailoverAsync(HttpClient[] nodes, Dictionary<string, string> o)
    {
        var pids = Pids(o);
        var victim = Int(o, "kill", 0);
        var count = Int(o, "registrations", 9);
        var origin = new DripOrigin(Int(o, "chunk-kib", 64) * 1024, Int(o, "chunks", 800), TimeSpan.FromMilliseconds(Int(o, "interval-ms", 50)));
        using var stop = new CancellationTokenSource();
        _ = origin.StartAsync(stop.Token);
        var survivors = nodes.Where((_, i) => i != victim).ToArray();
        var run = Guid.NewGuid().ToString("N")[..6];
        var ids = new List<string>();
        var owners = new Dictionary<string, int>();
        for (var round = 0; round < 4 && !owners.Values.Contains(pids[victim]); round++)
        {
            for (var k = 0; k < count; k++)
            {
                var id = $"fo{run}-{ids.Count}";
                ids.Add(id);
                await CreateAsync(nodes[ids.Count % nodes.Length], id, $"http://127.0.0.1:{origin.Port}/drip/{id}");
            }

            var deadline = Stopwatch.StartNew();
            while (ids.Any(id => origin.HighWater.GetValueOrDefault(id) < 8L * Int(o, "chunk-kib", 64) * 1024) && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            foreach (var id in ids.Where(id => origin.Latest.ContainsKey(id)))
            {
                owners[id] = SocketOwner.Find(origin.Latest[id].Port, pids);
            }
        }

        var moved = owners.Where(kv => kv.Value == pids[victim]).Select(static kv => kv.Key).ToList();
        if (moved.Count == 0)
        {
            Console.Error.WriteLine("failover: no registration ran on the victim");
            return 1;
        }

        var before = new Dictionary<string, long>();
        foreach (var id in moved)
        {
            before[id] = (await TryGetAsync(survivors[0], $"/v1/registrations/{id}", TimeSpan.FromSeconds(5)))?["downloaded"]?.GetValue<long>() ?? 0;
        }

        var killedAt = Stopwatch.GetTimestamp();
        Process.GetProcessById(pids[victim]).Kill();
        var progressed = new Dictionary<string, double>();
        var poll = 0;
        while (progressed.Count < moved.Count && Ms(killedAt, Stopwatch.GetTimestamp()) < 120_000)
        {
            await Task.WhenAll(moved.Where(id => !progressed.ContainsKey(id)).Select(async id =>
            {
                var view = await TryGetAsync(survivors[poll % survivors.Length], $"/v1/registrations/{id}", TimeSpan.FromSeconds(2));
                if (view?["downloaded"]?.GetValue<long>() is { } d && d > before[id])
                {
                    lock (progressed)
                    {
                        progressed.TryAdd(id, Ms(killedAt, Stopwatch.GetTimestamp()) / 1000);
                    }
                }
            }));
            poll++;
            await Task.Delay(50);
        }

        var resumed = moved.Where(id => origin.Latest[id].At > killedAt).Select(id => Ms(killedAt, origin.Latest[id].At) / 1000).ToList();
        Console.Error.WriteLine($"moved {moved.Count} of {ids.Count}: progressing again after {string.Join(", ", progressed.Values.Order().Select(static v => v.ToString("F2", CultureInfo.InvariantCulture)))} s");
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT failover_s={(progressed.Count == moved.Count ? progressed.Values.Max() : double.NaN):F2} first_s={(progressed.Count > 0 ? progressed.Values.Min() : double.NaN):F2} origin_resumed_s={(resumed.Count == moved.Count ? resumed.Max() : double.NaN):F2} moved={moved.Count} registrations={ids.Count}"));

        // Stop the drips: abort and release every registration through a survivor.
        foreach (var id in ids)
        {
            try
            {
                using var aborted = await survivors[0].PostAsync($"/v1/registrations/{id}/abort", null);
                using var released = await survivors[0].DeleteAsync($"/v1/registrations/{id}");
            }
            catch (HttpRequestException)
            {
            }
        }

        stop.Cancel();
        return progressed.Count == moved.Count ? 0 : 1;
    }

    /// <summary>
    /// W5 on three nodes: --sample registrations (ids --prefix0.. of --count, evenly spread) are read through a survivor
    /// before and after node --kill i gets SIGKILL. Reports the time until every sampled registration answers again, and
    /// the latency of GET /ready and of those GETs on the survivors meanwhile. And the restart of the moved pending
    /// registrations: before the kill, the registration entities on the victim (GET /v1/admin/sharding through a
    /// survivor, shards whose address is the victim's own, GET /v1/admin/cluster); after it, the survivors'
    /// <c>bgfetch_failover_restarts</c> counters (/metrics; a registration recovered while active counts once) until
    /// they have grown by that many: restarted_s, with 50% and 90% of the way; the survivors' API (GETs of the sample,
    /// the answered ones included, 50 per round) is measured until then too, at most --deadline-s (default 900).
    /// </summary>
    public static async Task<int> ProbeAsync(HttpClient[] nodes, Dictionary<string, string> o)
    {
        var pids = Pids(o);
        var victim = Int(o, "kill", 0);
        var total = Int(o, "count", 20000);
        var sample = Int(o, "sample", 300);
        var deadline = Int(o, "deadline-s", 900) * 1000.0;
        var prefix = o.GetValueOrDefault("prefix", "r");
        var scopes = Int(o, "scopes", 0);
        var survivors = nodes.Where((_, i) => i != victim).ToArray();
        var ids = Enumerable.Range(0, sample).Select(k => k * (total / sample)).ToArray();
        string Path(int i) => $"/v1/registrations/{prefix}{i}";
        HttpRequestMessage Get(int i) { var r = new HttpRequestMessage(HttpMethod.Get, Path(i)); if (scopes > 0) r.Headers.Add("X-BgFetch-Scope", "s" + (i % scopes).ToString(CultureInfo.InvariantCulture)); return r; }

        async Task<(bool Ok, double Ms)> TimedAsync(HttpClient node, HttpRequestMessage request)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var t = Stopwatch.GetTimestamp();
            try
            {
                using var response = await node.SendAsync(request, cts.Token);
                await response.Content.ReadAsByteArrayAsync(cts.Token);
                return (response.IsSuccessStatusCode, Ms(t, Stopwatch.GetTimestamp()));
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
            {
                return (false, Ms(t, Stopwatch.GetTimestamp()));
            }
        }

        foreach (var i in ids)
        {
            if (!(await TimedAsync(survivors[0], Get(i))).Ok)
            {
                Console.Error.WriteLine($"probe: {prefix}{i} does not answer before the kill");
            }
        }

        var moved = await EntitiesOnAsync(survivors[0], nodes[victim]);
        var restarts0 = new long[survivors.Length];
        for (var n = 0; n < survivors.Length; n++)
        {
            restarts0[n] = await FailoverRestartsAsync(survivors[n]) ?? 0;
        }

        Console.Error.WriteLine($"probe: {moved} registration entities on the victim before the kill; survivors' restarts so far {string.Join(",", restarts0)}");
        var killedAt = Stopwatch.GetTimestamp();
        Process.GetProcessById(pids[victim]).Kill();
        var ready = new List<double>();
        var api = new List<double>();
        var readyFailures = 0;
        using var stopReady = new CancellationTokenSource();
        var readyLoop = Task.Run(async () =>
        {
            var n = 0;
            while (!stopReady.IsCancellationRequested)
            {
                var (ok, ms) = await TimedAsync(survivors[n++ % survivors.Length], new HttpRequestMessage(HttpMethod.Get, "/ready"));
                lock (ready)
                {
                    ready.Add(ms);
                    if (!ok)
                    {
                        readyFailures++;
                    }
                }

                await Task.Delay(100);
            }
        });

        // The survivors' restart counters, every 500 ms: when have the moved registrations been recovered again? A few
        // of them may never count (32,928 of 32,944 did in one run), so the restart is over at 100%, or when the
        // counters have not moved for 30 s after 95%; restarted_last_s is the time of the last increase.
        var restartedAt = new double[4]; // 50%, 90%, 99%, 100% of moved
        var restarted = 0L;
        var lastIncreaseAt = 0.0;
        var restartOver = false;
        var restartLoop = Task.Run(async () =>
        {
            while (!stopReady.IsCancellationRequested && moved > 0 && !restartOver)
            {
                var sum = 0L;
                for (var n = 0; n < survivors.Length; n++)
                {
                    sum += (await FailoverRestartsAsync(survivors[n]) ?? restarts0[n]) - restarts0[n];
                }

                var at = Ms(killedAt, Stopwatch.GetTimestamp()) / 1000;
                if (sum > Volatile.Read(ref restarted))
                {
                    lastIncreaseAt = at;
                }

                Volatile.Write(ref restarted, sum);
                restartOver = sum >= moved || (sum >= 0.95 * moved && at - lastIncreaseAt > 30);
                double[] shares = [0.5, 0.9, 0.99, 1.0];
                for (var k = 0; k < shares.Length; k++)
                {
                    if (restartedAt[k] == 0 && moved > 0 && sum >= shares[k] * moved)
                    {
                        restartedAt[k] = at;
                    }
                }

                await Task.Delay(500);
            }
        });
        var answered = new HashSet<int>();
        var lastAnswerAt = 0.0;
        var round = 0;
        while ((answered.Count < ids.Length || (moved > 0 && !Volatile.Read(ref restartOver))) && Ms(killedAt, Stopwatch.GetTimestamp()) < deadline)
        {
            // the sampled registrations that have not answered yet, and 50 that have (the survivors' API meanwhile)
            var pending = ids.Where(i => !answered.Contains(i)).Concat(answered.Skip(round * 50 % Math.Max(1, answered.Count)).Take(50)).ToArray();
            var results = await Task.WhenAll(pending.Select(async i => (i, await TimedAsync(survivors[(i + round) % survivors.Length], Get(i)))));
            foreach (var (i, (ok, ms)) in results)
            {
                api.Add(ms);
                if (ok && answered.Add(i))
                {
                    lastAnswerAt = Ms(killedAt, Stopwatch.GetTimestamp()) / 1000;
                }
            }

            round++;
            await Task.Delay(100);
        }

        stopReady.Cancel();
        await readyLoop;
        await restartLoop;
        ready.Sort();
        api.Sort();
        static string S(double at) => at == 0 ? "NaN" : at.ToString("F2", CultureInfo.InvariantCulture);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT all_answer_s={(answered.Count == ids.Length ? lastAnswerAt : double.NaN):F2} sample={ids.Length} moved={moved} restarted={Volatile.Read(ref restarted)} restarted50_s={S(restartedAt[0])} restarted90_s={S(restartedAt[1])} restarted99_s={S(restartedAt[2])} restarted_s={S(restartedAt[3])} restarted_last_s={S(lastIncreaseAt)} ready_p50_ms={Percentile(ready, 0.5):F1} ready_p99_ms={Percentile(ready, 0.99):F1} ready_max_ms={ready[^1]:F1} ready_failures={readyFailures} api_gets={api.Count} api_p50_ms={Percentile(api, 0.5):F1} api_p99_ms={Percentile(api, 0.99):F1} api_max_ms={api[^1]:F1}"));
        return answered.Count == ids.Length ? 0 : 1;
    }

    /// <summary>Registration entities in the shards of <paramref name="target"/>, as <paramref name="observer"/>'s sharding statistics see them; -1 when unknown.</summary>
    private static async Task<int> EntitiesOnAsync(HttpClient observer, HttpClient target)
    {
        var self = (await TryGetAsync(target, "/v1/admin/cluster", TimeSpan.FromSeconds(15)))?["self"]?.GetValue<string>();
        var sharding = await TryGetAsync(observer, "/v1/admin/sharding", TimeSpan.FromSeconds(15));
        if (self is null || sharding?["regions"] is not JsonArray regions)
        {
            return -1;
        }

        return regions.Where(static r => r?["typeName"]?.GetValue<string>() == "registration")
            .SelectMany(static r => r!["shards"]!.AsArray())
            .Where(s => s?["address"]?.GetValue<string>() is { } a && a.StartsWith(self, StringComparison.Ordinal))
            .Sum(static s => s!["entities"]!.GetValue<int>());
    }

    /// <summary>The node's bgfetch.failover.restarts counter (summed over its series) from /metrics, or null.</summary>
    private static async Task<long?> FailoverRestartsAsync(HttpClient node)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var text = await node.GetStringAsync("/metrics", cts.Token);
            var sum = 0.0;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("bgfetch_failover_restarts", StringComparison.Ordinal))
                {
                    // name{labels} value [timestamp]
                    var rest = line.Contains('}', StringComparison.Ordinal) ? line[(line.LastIndexOf('}') + 1)..] : line[line.IndexOf(' ', StringComparison.Ordinal)..];
                    sum += double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }

            return (long)sum;
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Caches socket owners: the latency run looks each fetch up once, after the fact the socket may be gone.</summary>
internal static class SocketOwnerCache
{
    private static readonly Dictionary<int, int> Owners = [];

    public static int Get(int port, int[] pids)
    {
        lock (Owners)
        {
            if (!Owners.TryGetValue(port, out var pid) || pid == 0)
            {
                Owners[port] = pid = SocketOwner.Find(port, pids);
            }

            return pid;
        }
    }
}
