using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using BgFetchCluster.Actors.Tests.Persistence;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// A node on PostgreSQL with <c>BgFetch:Storage:Bodies=PostgreSql</c>: the journal and the bodies in one schema of their
/// own (the connection string's Search Path), bodies served with ranges from the chunks, and released with them.
/// Without BGFETCH_TEST_POSTGRES the test fails: a silent skip would report a green suite that never touched PostgreSQL.
/// </summary>
public sealed class PostgreSqlBodiesTests : IAsyncDisposable
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    // A schema per test (not per class): each test's node starts from an empty journal.
    private readonly PostgreSqlTestSchema<PostgreSqlBodiesTests> _schema = new();

    public async ValueTask DisposeAsync() => await _schema.DisposeAsync();

    [Fact]
    public async Task PostgreSqlBodies_RegistrationSettles_BodyReadsBackWithRanges_AndReleaseDeletesTheChunks()
    {
        const long size = (3L * 1024 * 1024) + 5;
        await using var origin = await TestOrigin.StartAsync();
        await using var node = new NodeFactory()
            .With("BgFetch:Storage:Provider", "PostgreSql")
            .With("BgFetch:Storage:ConnectionString", _schema.SearchPathConnectionString)
            .With("BgFetch:Storage:Bodies", "PostgreSql");
        using var client = node.CreateClient();

        using var created = await client.CreateAsync(new { id = "pg-bodies", requests = new[] { $"{origin.BaseUrl}files/big?size={size}" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(BackgroundFetchResult.Success, (await client.WaitForSettledAsync("pg-bodies", Settle)).Result);

        var record = Assert.Single(await client.MatchAllAsync("pg-bodies"));
        Assert.Equal(TestOrigin.Sha256Of(size), record.Response!.Sha256);
        Assert.Equal(4, await CountAsync("body_chunks"));
        Assert.True(await CountAsync("journal") > 0, "the journal should be in the same schema as the bodies");

        var body = new Uri("v1/registrations/pg-bodies/records/0/body", UriKind.Relative);
        using (var whole = await client.GetAsync(body, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal(size, whole.Content.Headers.ContentLength);
            await using var stream = await whole.Content.ReadAsStreamAsync();
            Assert.Equal(TestOrigin.Sha256Of(size), Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)));
        }

        // A range across the boundary of the first two chunks.
        using var ranged = new HttpRequestMessage(HttpMethod.Get, body);
        ranged.Headers.Range = new RangeHeaderValue((1024 * 1024) - 10, (1024 * 1024) + 9);
        using (var part = await client.SendAsync(ranged))
        {
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(
                Enumerable.Range((1024 * 1024) - 10, 20).Select(p => TestOrigin.ByteAt(p)),
                await part.Content.ReadAsByteArrayAsync());
        }

        using var released = await client.DeleteAsync(new Uri("v1/registrations/pg-bodies", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
        Assert.Equal(0, await CountAsync("body_chunks"));
        Assert.Equal(0, await CountAsync("body_records"));
        using var gone = await client.GetAsync(body);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private async Task<long> CountAsync(string table)
    {
        await using var command = _schema.DataSource.CreateCommand($"SELECT COUNT(*) FROM \"{_schema.Schema}\".{table};");
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
