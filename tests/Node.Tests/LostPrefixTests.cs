using System.Net;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;
using Npgsql;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// A record resumed after a crash whose stored prefix is gone or shorter than its journaled checkpoint (issue 19.3,
/// <c>ResponseStoreFailure.MissingPrefix</c>) starts again from byte 0: a lost prefix costs a download, never the
/// registration. Real node processes on PostgreSQL (journal and bodies in a schema of the test's own).
/// </summary>
public sealed class LostPrefixTests : NodeProcessTests
{
    private const long Size = 24L * 1024 * 1024;
    private const long Rate = 4L * 1024 * 1024;
    private readonly string _schema = $"lostprefixtests_{Guid.NewGuid().ToString("N")[..8]}";

    [Theory]
    [InlineData("DELETE FROM body_chunks; DELETE FROM body_records;")]
    [InlineData("DELETE FROM body_chunks WHERE chunk_offset >= 1048576;")]
    public async Task Resume_WhenTheStoredPrefixIsMissingOrShorterThanTheCheckpoint_StartsAgainFromByteZero_AndSucceedsByteExact(string loss)
    {
        var admin = Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES")
            ?? throw new InvalidOperationException("BGFETCH_TEST_POSTGRES is not set: run scripts/test.sh, which starts PostgreSQL and sets it.");
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { SearchPath = _schema }.ConnectionString;
        string[] settings = ["--BgFetch:Storage:Provider=PostgreSql", $"--BgFetch:Storage:ConnectionString={connectionString}", "--BgFetch:Storage:Bodies=PostgreSql"];
        try
        {
            var url = $"{Origin.BaseUrl}files/lost.bin?size={Size}&rate={Rate}";
            await using (var first = await StartNodeAsync(settings))
            {
                using var created = await first.Client.CreateAsync(new { id = "lost", requests = new[] { url } });
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);

                // Past a durable checkpoint (every 2 s) of more than one chunk, well before the end.
                await first.Client.WaitForAsync("lost", static r => r.Downloaded >= 10L * 1024 * 1024, "10 MiB downloaded", TimeSpan.FromSeconds(60));
                await first.KillAsync();
            }

            // The journal still says "resume at the checkpoint"; the bodies no longer hold it.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand(loss, connection);
                await command.ExecuteNonQueryAsync();
            }

            await using var second = await StartNodeAsync(settings);
            var settled = await second.Client.WaitForSettledAsync("lost", TimeSpan.FromSeconds(120));

            Assert.True(settled.Result == BackgroundFetchResult.Success, $"the registration settled {settled}");
            Assert.Equal(Size, settled.Downloaded);
            var record = Assert.Single(await second.Client.MatchAllAsync("lost"));
            Assert.Equal(TestOrigin.Sha256Of(Size), record.Response!.Sha256);

            // The first request, the resume with Range that found the prefix missing, then the whole body again.
            var requests = Origin.Requests.Where(static r => r.PathAndQuery.StartsWith("/files/lost.bin", StringComparison.Ordinal)).ToList();
            Assert.True(requests.Count(static r => r.Range is null) == 2, $"expected the record to start again from byte 0 once: {string.Join(", ", requests.Select(static r => r.Range ?? "whole"))}");
            using var body = await second.Client.GetAsync(new Uri("v1/registrations/lost/records/0/body", UriKind.Relative));
            Assert.Equal(TestOrigin.Sha256Of(Size), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await body.Content.ReadAsByteArrayAsync())));
        }
        finally
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE;", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
