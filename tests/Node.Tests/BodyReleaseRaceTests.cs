using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Reads of a PostgreSQL body that race the release of its registration (issue 19.3): a read the release overtakes
/// answers 404 <c>NotFoundError</c> with a problem body, a read already streaming is cut short (never other bytes),
/// and none answers 500.
/// </summary>
public sealed class BodyReleaseRaceTests(ITestOutputHelper output) : IAsyncDisposable
{
    private const long Size = 24L * 1024 * 1024;
    private readonly string _schema = $"bodyreleaseracetests_{Guid.NewGuid().ToString("N")[..8]}";
    private readonly string _admin = Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES")
        ?? throw new InvalidOperationException("BGFETCH_TEST_POSTGRES is not set: run scripts/test.sh, which starts PostgreSQL and sets it.");

    private string ConnectionString => new NpgsqlConnectionStringBuilder(_admin) { SearchPath = _schema }.ConnectionString;


    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE;", connection);
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task BodyRead_RacingARelease_AnswersTheBodyOr404_OrIsCutShort_NeverA500()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var node = new NodeFactory()
            .With("BgFetch:Storage:Provider", "PostgreSql")
            .With("BgFetch:Storage:ConnectionString", ConnectionString)
            .With("BgFetch:Storage:Bodies", "PostgreSql");
        using var client = node.CreateClient();

        // One read in the middle of the body when the release comes: it was 200 and ends cut short or complete.
        await CreateAndSettleAsync(client, origin, "streaming");
        using (var reading = await client.GetAsync(BodyOf("streaming"), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, reading.StatusCode);
            await using var stream = await reading.Content.ReadAsStreamAsync();
            var start = new byte[64 * 1024];
            await stream.ReadExactlyAsync(start);
            using (var released = await client.DeleteAsync(new Uri("v1/registrations/streaming", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
            }

            var rest = await ReadRestAsync(stream);
            output.WriteLine($"the read in progress when the release came: {(rest is null ? "cut short" : "whole")}");
            Assert.True(rest is null || start.Length + rest.Value.Length == Size, $"a read that was not cut short returned {start.Length + (rest?.Length ?? 0)} of {Size} bytes");
        }

        // Many reads started together with the release: each is the whole body, a clean 404, or cut short; never a 500.
        for (var round = 0; round < 3; round++)
        {
            var id = $"race{round}";
            await CreateAndSettleAsync(client, origin, id);
            var reads = Enumerable.Range(0, 6).Select(_ => ReadOnceAsync(client, id)).ToList();
            using (var released = await client.DeleteAsync(new Uri($"v1/registrations/{id}", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
            }

            reads.Add(ReadOnceAsync(client, id));
            var outcomes = await Task.WhenAll(reads);
            output.WriteLine($"{id}: " + string.Join(", ", outcomes.GroupBy(static o => o).Select(static g => $"{g.Count()} x {g.Key}")));
            foreach (var outcome in outcomes)
            {
                Assert.True(outcome is "whole" or "cut" or "404 NotFoundError", $"a read racing the release of {id} answered {outcome}");
            }
        }
    }

    private static Uri BodyOf(string id) => new($"v1/registrations/{id}/records/0/body", UriKind.Relative);

    private static async Task CreateAndSettleAsync(HttpClient client, TestOrigin origin, string id)
    {
        using var created = await client.CreateAsync(new { id, requests = new[] { $"{origin.BaseUrl}files/{id}.bin?size={Size}" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(BackgroundFetchResult.Success, (await client.WaitForSettledAsync(id, TimeSpan.FromSeconds(60))).Result);
    }

    /// <summary>What one read of the body came to: "whole" (byte-exact), "cut" (fewer bytes, then an error), or the status and problem name.</summary>
    private static async Task<string> ReadOnceAsync(HttpClient client, string id)
    {
        try
        {
            using var response = await client.GetAsync(BodyOf(id), HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                return $"{(int)response.StatusCode} {problem.RootElement.GetProperty("name").GetString()}";
            }

            await using var stream = await response.Content.ReadAsStreamAsync();
            var rest = await ReadRestAsync(stream);
            if (rest is null)
            {
                return "cut";
            }

            return rest.Value.Length == Size && Convert.ToHexStringLower(SHA256.HashData(rest.Value.Span)) == TestOrigin.Sha256Of(Size)
                ? "whole"
                : $"200 with {rest.Value.Length} wrong bytes";
        }
        catch (HttpRequestException e)
        {
            return "cut before the headers: " + e.Message;
        }
    }

    /// <summary>The rest of a body stream, or null when the stream failed before its end (the response was cut short).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadRestAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(buffer);
            return buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException)
        {
            return null;
        }
    }
}
