using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace BgFetchCluster.Chaos.Tests.Workload;

/// <summary>What a creation attempt got.</summary>
public enum CreateOutcome
{
    /// <summary>201: the registration exists and must settle.</summary>
    Created,

    /// <summary>A definite refusal (4xx or 503): nothing may have been stored.</summary>
    Refused,

    /// <summary>The node could not be reached: the request never left.</summary>
    NotSent,

    /// <summary>The request was sent and no answer came (timeout, reset): it may or may not exist.</summary>
    Unknown,
}

/// <summary>One creation attempt of the workload.</summary>
public sealed record Attempt(string Id, int Slot, long Size, bool Slow, CreateOutcome Outcome, HttpStatusCode? Status, string? Error, DateTime At, TimeSpan Took);

/// <summary>
/// The workload: one worker per node keeps creating registrations through its node while a nemesis runs, a mix (half
/// and half) of small bodies (some journaled inline, most in the body store) and slow Range-capable ones (so that faults catch downloads in flight). Ids are never reused, so an
/// id names one creation attempt; every attempt and its outcome is kept for the checker.
/// </summary>
public sealed class LoadGenerator(IReadOnlyList<HttpClient> nodes, string originBaseUrl, string prefix, ResponseLog log)
{
    /// <summary>
    /// Size of a slow body: about forty seconds at <see cref="SlowRate"/>. Longer than a takeover (12-17 s after a fault,
    /// more while the shard coordinator waits for the unreachable node's removal), so downloads in flight at the fault
    /// are still in flight when the new owner takes them over: at thirteen seconds, a paused node that woke up (or a cut-off
    /// node that still reached PostgreSQL) could finish all of them itself before the coordinator had moved anything, and
    /// then no download was resumed with Range at all (seen in 4 of about 25 runs of the SIGSTOP and partition cases).
    /// </summary>
    public const long SlowSize = 2560 * 1024;

    /// <summary>Bytes per second the origin serves a slow body at.</summary>
    public const long SlowRate = 64 * 1024;

    private static readonly TimeSpan Pace = TimeSpan.FromSeconds(1.5);
    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _running;
    private int _next;

    /// <summary>Every attempt so far.</summary>
    public IReadOnlyList<Attempt> Attempts => [.. _attempts];

    /// <summary>The ids prefix of this workload.</summary>
    public string Prefix => prefix;

    /// <summary>Starts one worker per node.</summary>
    public void Start() => _running = Task.WhenAll(Enumerable.Range(0, nodes.Count).Select(slot => Task.Run(() => WorkAsync(slot))));

    /// <summary>Stops creating and waits for the attempts in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_running is not null)
        {
            await _running;
        }
    }

    private async Task WorkAsync(int slot)
    {
        while (!_stop.IsCancellationRequested)
        {
            var n = Interlocked.Increment(ref _next);
            var slow = n % 2 == 1;
            var size = slow ? SlowSize : n % 8 == 0 ? 2000 : 16 * 1024 * (1 + (n % 8));
            var id = $"{prefix}{n:D4}";
            var url = $"{originBaseUrl}files/{id}.bin?size={size}" + (slow ? $"&rate={SlowRate}" : string.Empty);
            _attempts.Enqueue(await CreateAsync(slot, id, url, size, slow));
            try
            {
                // The workload's rate, not a wait for a condition.
                await Task.Delay(Pace, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<Attempt> CreateAsync(int slot, string id, string url, long size, bool slow)
    {
        var at = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await nodes[slot].PostAsJsonAsync(new Uri("v1/registrations", UriKind.Relative), new { id, requests = new[] { url } });
            log.Add("create " + id, slot, response.StatusCode);
            var outcome = response.StatusCode == HttpStatusCode.Created ? CreateOutcome.Created
                : (int)response.StatusCode < 500 || response.StatusCode == HttpStatusCode.ServiceUnavailable ? CreateOutcome.Refused
                : CreateOutcome.Unknown;
            return new Attempt(id, slot, size, slow, outcome, response.StatusCode, null, at, clock.Elapsed);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.InvalidArgument })
        {
            return new Attempt(id, slot, size, slow, CreateOutcome.NotSent, null, e.Message, at, clock.Elapsed);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new Attempt(id, slot, size, slow, CreateOutcome.Unknown, null, e.GetType().Name + ": " + e.Message, at, clock.Elapsed);
        }
    }
}
