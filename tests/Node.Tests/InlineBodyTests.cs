using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// Bodies up to <c>BgFetch:Storage:InlineBodyBytes</c> live in the journal event that settles their record, not in
/// files: real node processes show they are served like stored bodies, survive SIGKILL, and go with a release.
/// </summary>
public class InlineBodyTests : NodeProcessTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    [Fact]
    public async Task SmallBodies_AreJournaledNotFiled_SurviveKillNine_ServeRanges_AndGoWithTheRelease()
    {
        // The default limit is 4,096 bytes: the first and the empty body are inline, the second is a file.
        long[] sizes = [3000, 5000, 0];
        var requests = sizes.Select((size, i) => $"{Origin.BaseUrl}files/inline-{i}?size={size}").ToArray();
        await using (var first = await StartNodeAsync())
        {
            using var created = await first.Client.CreateAsync(new { id = "small", requests });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(BackgroundFetchResult.Success, (await first.Client.WaitForSettledAsync("small", Settle)).Result);
            await first.KillAsync();
        }

        Assert.Single(StoredState.BodyFiles(Data.Path));

        await using var second = await StartNodeAsync();
        var records = await second.Client.MatchAllAsync("small");
        for (var i = 0; i < sizes.Length; i++)
        {
            using var body = await second.Client.GetAsync(new Uri($"v1/registrations/small/records/{i}/body", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, body.StatusCode);
            var bytes = await body.Content.ReadAsByteArrayAsync();
            Assert.Equal(sizes[i], bytes.Length);
            Assert.Equal(TestOrigin.Sha256Of(sizes[i]), Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Assert.Equal(TestOrigin.Sha256Of(sizes[i]), records[i].Response!.Sha256);
            Assert.Equal(sizes[i], records[i].Response!.Size);
        }

        using var ranged = new HttpRequestMessage(HttpMethod.Get, new Uri("v1/registrations/small/records/0/body", UriKind.Relative));
        ranged.Headers.Range = new RangeHeaderValue(1000, 1099);
        using var part = await second.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(Enumerable.Range(1000, 100).Select(p => TestOrigin.ByteAt(p)), await part.Content.ReadAsByteArrayAsync());

        using var released = await second.Client.DeleteAsync(new Uri("v1/registrations/small", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, released.StatusCode);
        Assert.Empty(StoredState.BodyFiles(Data.Path));

        // The release deletes the registration's history, inline bodies and all; only its highest row stays, marked
        // deleted, so the sequence number is never reused.
        var deadline = DateTime.UtcNow + Settle;
        long live;
        while ((live = await LiveRegistrationRowsAsync()) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(live == 0, $"the released registration still has {live} journal rows that replay");
        Assert.Equal(0, await ScalarAsync($"SELECT COUNT(*) FROM {Journal.Table} WHERE manifest = 'bgfetch.record.settled.v1'"));
        using var gone = await second.Client.GetAsync(new Uri("v1/registrations/small/records/0/body", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task InlineBodyBytesZero_StoresEveryBodyAsAFile()
    {
        await using var node = await StartNodeAsync("--BgFetch:Storage:InlineBodyBytes=0");
        using var created = await node.Client.CreateAsync(new { id = "files", requests = new[] { $"{Origin.BaseUrl}files/tiny?size=10" } });
        Assert.Equal(BackgroundFetchResult.Success, (await node.Client.WaitForSettledAsync("files", Settle)).Result);

        Assert.Single(StoredState.BodyFiles(Data.Path));
        using var body = await node.Client.GetAsync(new Uri("v1/registrations/files/records/0/body", UriKind.Relative));
        Assert.Equal(TestOrigin.Sha256Of(10), Convert.ToHexStringLower(SHA256.HashData(await body.Content.ReadAsByteArrayAsync())));
    }

    [Fact]
    public async Task DownloadTotalExceeded_SmallBody_KeepsNoBody_AndTheBodyReadsAsTypeError()
    {
        await using var node = await StartNodeAsync();
        using var created = await node.Client.CreateAsync(new
        {
            id = "limited",
            requests = new[] { $"{Origin.BaseUrl}files/limited?size=3000" },
            options = new { downloadTotal = 1000 },
        });
        var settled = await node.Client.WaitForSettledAsync("limited", Settle);

        Assert.Equal(BackgroundFetchFailureReason.DownloadTotalExceeded, settled.FailureReason);
        using var body = await node.Client.GetAsync(new Uri("v1/registrations/limited/records/0/body", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Conflict, body.StatusCode);
        Assert.Equal("TypeError", (await body.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        Assert.Empty(StoredState.BodyFiles(Data.Path));
    }

    private Task<long> LiveRegistrationRowsAsync() =>
        ScalarAsync($"SELECT COUNT(*) FROM {Journal.Table} WHERE persistence_id LIKE 'registration-%' AND deleted = 0");

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data.Path, "journal.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>
/// <see cref="InlineBodyTests"/> on Akka.Persistence.Sql (<c>BgFetch:Storage:Journal=AkkaSql</c>): inline bodies survive
/// SIGKILL in its journal and go with the release there too.
/// </summary>
public sealed class AkkaSqlInlineBodyTests : InlineBodyTests
{
    /// <inheritdoc />
    protected override StoredJournal Journal => StoredJournal.AkkaSql;
}
