using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// OpenTelemetry on a real node process: after real registrations, <c>/metrics</c> (Prometheus text format) shows the
/// fetch figures of the <c>BgFetchCluster</c> meter.
/// </summary>
public sealed partial class TelemetryTests : NodeProcessTests
{
    [Fact]
    public async Task Metrics_AfterARegistrationAndARefusedTarget_ShowTheFetchFigures()
    {
        // 127.0.0.2 is denied, so the second registration's fetch is refused by the SSRF guard;
        // the third gets a 503, retried once and then kept as a bad-status response.
        await using var node = await StartNodeAsync(
            "--BgFetch:Fetch:DeniedNetworks:0=127.0.0.2", "--BgFetch:Fetch:MaxAttempts=2", "--BgFetch:Fetch:RetryBaseDelay=00:00:00.010");
        var ok = await CreateAsync(node, "metrics-ok", Origin.BaseUrl + "files/m?size=300000");
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        var refused = await CreateAsync(node, "metrics-refused", "http://127.0.0.2:18080/files/x");
        Assert.Equal(HttpStatusCode.Created, refused.StatusCode);
        var retried = await CreateAsync(node, "metrics-retried", Origin.BaseUrl + "files/r?status=503&size=10");
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        await AwaitSettledAsync(node, "metrics-ok");
        await AwaitSettledAsync(node, "metrics-retried");
        await AwaitSettledAsync(node, "metrics-refused");

        var text = "";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string[] wanted =
        [
            @"^bgfetch_registrations_created_total(\{[^}]*\})? 3\b",
            @"^bgfetch_registrations_settled_total\{[^}]*result=""success""[^}]*\} 1\b",
            @"^bgfetch_registrations_settled_total\{[^}]*failure_reason=""fetch-error""[^}]*\} 1\b",
            @"^bgfetch_records_settled_total\{[^}]*state=""success""[^}]*\} 1\b",
            @"^bgfetch_records_settled_total\{[^}]*state=""fetch-error""[^}]*\} 1\b",
            @"^bgfetch_records_settled_total\{[^}]*state=""bad-status""[^}]*\} 1\b",
            @"^bgfetch_registrations_settled_total\{[^}]*failure_reason=""bad-status""[^}]*\} 1\b",
            @"^bgfetch_downloaded_bytes_total(\{[^}]*\})? 3000[12]\d\b",
            @"^bgfetch_uploaded_bytes_total(\{[^}]*\})? 0\b",
            @"^bgfetch_downloads_active(\{[^}]*\})? 0\b",
            @"^bgfetch_ssrf_refusals_total(\{[^}]*\})? [1-9]",
            @"^bgfetch_journal_write_duration_seconds_count(\{[^}]*\})? [1-9]",
            @"^bgfetch_journal_write_duration_seconds_bucket\{[^}]*le=""0.005""[^}]*\} [1-9]",
            @"^bgfetch_retries_total(\{[^}]*\})? 1\b",
        ];
        string[] missing;
        do
        {
            using var response = await node.Client.GetAsync(new Uri("metrics", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            text = await response.Content.ReadAsStringAsync();
            missing = [.. wanted.Where(pattern => !Regex.IsMatch(text, pattern, RegexOptions.Multiline))];
            if (missing.Length == 0)
            {
                return;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"/metrics did not show {string.Join(", ", missing)} within 20 s:\n{Grep(text)}");
    }

    [Fact]
    public async Task Metrics_WithPrometheusOff_Answers404()
    {
        await using var node = await StartNodeAsync("--BgFetch:Telemetry:Prometheus=false");
        using var response = await node.Client.GetAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task FailoverRestarts_AfterAKillMidDownload_CountTheRecoveredRegistration()
    {
        var url = Origin.BaseUrl + "files/failover.bin?size=100000000&rate=2000000";
        await using (var first = await StartNodeAsync())
        {
            using var created = await first.Client.CreateAsync(new { id = "failover", requests = new[] { url } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await first.Client.WaitForAsync("failover", static r => r.Downloaded > 0, "some bytes downloaded", TimeSpan.FromSeconds(30));
            await first.KillAsync();
        }

        await using var second = await StartNodeAsync();
        var text = "";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            text = await second.Client.GetStringAsync(new Uri("metrics", UriKind.Relative));
            if (Regex.IsMatch(text, @"^bgfetch_failover_restarts_total(\{[^}]*\})? 1\b", RegexOptions.Multiline)
                && Regex.IsMatch(text, @"^bgfetch_downloads_active(\{[^}]*\})? 1\b", RegexOptions.Multiline))
            {
                using var aborted = await second.Client.PostAsync(new Uri("v1/registrations/failover/abort", UriKind.Relative), null);
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"/metrics did not count the recovered registration within 30 s:\n{Grep(text)}");
    }

    [Fact]
    public async Task Otlp_WithAnEndpoint_TheNodeExportsAndStillServesMetrics()
    {
        // Nothing listens there: export failures must not disturb the node.
        await using var node = await StartNodeAsync($"--OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{NodeProcess.FreePort()}");
        var created = await CreateAsync(node, "otlp", Origin.BaseUrl + "files/o?size=1000");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await AwaitSettledAsync(node, "otlp");
        var text = await node.Client.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Contains("bgfetch_registrations_created_total", text, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> CreateAsync(NodeProcess node, string id, string url) =>
        node.Client.PostAsJsonAsync(new Uri("v1/registrations", UriKind.Relative), new { id, requests = new[] { url } });

    private static async Task AwaitSettledAsync(NodeProcess node, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            last = await node.Client.GetStringAsync(new Uri($"v1/registrations/{id}", UriKind.Relative));
            using var json = JsonDocument.Parse(last);
            if (json.RootElement.GetProperty("result").GetString() is { Length: > 0 })
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"'{id}' did not settle within 30 s; last seen: {last}");
    }

    private static string Grep(string text) =>
        string.Join('\n', text.Split('\n').Where(static line => line.Contains("bgfetch", StringComparison.Ordinal)));
}
