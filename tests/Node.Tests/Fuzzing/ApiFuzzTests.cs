using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BgFetchCluster.Node.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BgFetchCluster.Node.Tests.Fuzzing;

/// <summary>
/// Bad API input against a real node on real Kestrel: thousands of generated requests (seeded, so a
/// failure replays), none of which may get a 5xx, every 4xx of which carries a problem body, and
/// after which nothing is stored.
/// </summary>
public sealed class ApiFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>The default seed; set <c>BGFETCH_FUZZ_SEED</c> to explore others, <c>BGFETCH_FUZZ_CASES</c> for more cases.</summary>
    private const int DefaultSeed = 20261121;
    private const int DefaultCases = 2000;
    private const int MaxRequestsPerRegistration = 5;

    /// <summary>A bound on the run, not an assertion: cases left when it runs out are reported as skipped.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    private static readonly HashSet<string> DomExceptionNames =
        ["TypeError", "QuotaExceededError", "InvalidStateError", "NotFoundError", "AbortError", "NotAllowedError", "NotSupportedError", "TimeoutError"];

    private readonly NodeFactory _node = new NodeFactory().With("BgFetch:Limits:MaxRequestsPerRegistration", MaxRequestsPerRegistration.ToString(CultureInfo.InvariantCulture));
    private Uri _server = null!;

    public Task InitializeAsync()
    {
        _server = _node.StartKestrel();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Fuzz_HostileRequestsOnEveryRoute_NeverServerError_AlwaysProblemBody_StoreNothing()
    {
        var seed = Environment.GetEnvironmentVariable("BGFETCH_FUZZ_SEED") is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : DefaultSeed;
        var count = Environment.GetEnvironmentVariable("BGFETCH_FUZZ_CASES") is { Length: > 0 } cases ? int.Parse(cases, CultureInfo.InvariantCulture) : DefaultCases;
        var replay = $"seed {seed} (replay: BGFETCH_FUZZ_SEED={seed} dotnet test tests/Node.Tests -c Release --filter {nameof(ApiFuzzTests)})";
        output.WriteLine($"Fuzzing {count} requests with {replay}");

        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var stopwatch = Stopwatch.StartNew();
        var sent = 0;
        var generated = new ApiFuzzer(seed, MaxRequestsPerRegistration).Generate(count);
        await Parallel.ForEachAsync(generated, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (fuzz, cancellationToken) =>
        {
            if (stopwatch.Elapsed > Budget || failures.Count >= 20)
            {
                return;
            }

            Interlocked.Increment(ref sent);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                var response = await RawHttp.SendAsync(_server, fuzz.Method, fuzz.Target, fuzz.Headers, fuzz.Body, fuzz.Chunked, deadline.Token);
                statuses.AddOrUpdate(response.Status, 1, static (_, n) => n + 1);
                if (Check(fuzz, response) is { } problem)
                {
                    failures.Enqueue($"{problem}\n    request: {fuzz}\n    response: {response.Status} {response.MediaType} {Truncate(response.Text)}");
                }
            }
            catch (Exception exception) when (exception is IOException or InvalidDataException or OperationCanceledException or FormatException)
            {
                failures.Enqueue($"no readable response ({exception.GetType().Name}: {exception.Message})\n    request: {fuzz}");
            }
        });

        output.WriteLine($"Sent {sent} of {count} in {stopwatch.Elapsed.TotalSeconds:F1} s; statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.True(failures.IsEmpty, $"{failures.Count} bad answers with {replay}:\n{string.Join("\n", failures.Take(20))}");

        // Nothing stored: no active id in any scope used, no body on disk, no registration in the journal.
        foreach (var scope in ApiFuzzer.Scopes)
        {
            var headers = scope is null ? [] : new[] { ("X-BgFetch-Scope", scope) };
            var ids = await RawHttp.SendAsync(_server, "GET", "/v1/registrations", headers, null, false, CancellationToken.None);
            Assert.Equal(200, ids.Status);
            Assert.True(
                JsonDocument.Parse(ids.Body).RootElement.GetProperty("ids").GetArrayLength() == 0,
                $"scope '{scope ?? "default"}' has active registrations after the fuzz ({replay}): {ids.Text}");
        }

        await StoredState.AssertNothingStoredAsync(_node.DataDirectory, $"after the fuzz with {replay}");
    }

    /// <summary>What is wrong with the answer to one case, or null.</summary>
    private static string? Check(FuzzCase fuzz, RawResponse response)
    {
        if (response.Status >= 500)
        {
            return "server error";
        }

        if (fuzz.IsCreate && response.Status < 400)
        {
            return "a create body that is invalid by construction was accepted";
        }

        if (response.Status < 400 || fuzz.Method == "HEAD")
        {
            return null;
        }

        // Kestrel refuses a NUL in the decoded path as malformed HTTP before any middleware runs: a bare 400.
        if (response.Status == 400 && response.Body.Length == 0 && fuzz.Target.Split('?')[0].Contains("%00", StringComparison.Ordinal))
        {
            return null;
        }

        if (response.MediaType != "application/problem+json")
        {
            return "a 4xx without an application/problem+json body";
        }

        try
        {
            var problem = JsonDocument.Parse(response.Body).RootElement;
            if (!problem.TryGetProperty("status", out var status) || status.GetInt32() != response.Status)
            {
                return "the problem's status differs from the response's";
            }

            return problem.TryGetProperty("name", out var name) && DomExceptionNames.Contains(name.GetString() ?? "")
                ? null
                : "the problem has no DOMException name";
        }
        catch (JsonException)
        {
            return "the problem body is not JSON";
        }
    }

    private static string Truncate(string text) => text.Length > 400 ? text[..400] + "..." : text;
}
