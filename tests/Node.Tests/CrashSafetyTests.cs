using BgFetchCluster.Messages.Fetch.Api;
using System.Net;
using System.Net.Http.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// A real node process is killed with SIGKILL in the middle of a large download and started again on
/// the same data: the registration recovers from the journal and finishes byte-exact.
/// </summary>
public class CrashSafetyTests : NodeProcessTests
{
    private const long Size = 48L * 1024 * 1024;
    private const long Rate = 8L * 1024 * 1024;
    [Fact]
    public async Task KillNineMidDownload_RestartResumesWithRangeAndFinishesWithTheRightSha256()
    {
        var url = $"{Origin.BaseUrl}files/big.bin?size={Size}&rate={Rate}";
        long downloadedBeforeKill;
        await using (var first = await StartNodeAsync())
        {
            using var created = await first.Client.CreateAsync(new { id = "crash", requests = new[] { url } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

            // Past the first durable checkpoint (every 2 s), well before the end.
            var midway = await first.Client.WaitForAsync("crash", r => r.Downloaded >= 20L * 1024 * 1024, "20 MiB downloaded", TimeSpan.FromSeconds(60));
            downloadedBeforeKill = midway.Downloaded;
            await first.KillAsync();
        }

        await using var second = await StartNodeAsync();
        var seen = new List<long>();
        var settled = await second.Client.WaitForSettledAsync("crash", TimeSpan.FromSeconds(120), r => seen.Add(r.Downloaded));

        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        Assert.Equal(Size, settled.Downloaded);
        var record = Assert.Single(await second.Client.MatchAllAsync("crash"));
        Assert.Equal(TestOrigin.Sha256Of(Size), record.Response!.Sha256);
        Assert.True(Origin.RangedRequestsFor("big.bin") >= 1, "the restarted node should resume with a Range request");
        Assert.True(seen.SequenceEqual(seen.Order()), $"progress went backwards after the restart: {string.Join(", ", seen)}");

        // Where the resume started is the origin's to say: the first poll after the restart may come after the resumed
        // download has moved on. The checkpoint is past 0 and at most what was stored when the node died, which is
        // what the last poll saw plus what arrived before the kill a moment later (at most half a second at Rate).
        var resumeRange = Origin.Requests.First(r => r.PathAndQuery.StartsWith("/files/big.bin", StringComparison.Ordinal) && r.Range is not null).Range!;
        var resumedAt = long.Parse(resumeRange["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(resumedAt > 0 && resumedAt <= downloadedBeforeKill + (Rate / 2), $"the restart should resume from a checkpoint near {downloadedBeforeKill}, resumed with {resumeRange}");
        var active = await second.Client.GetFromJsonAsync(new Uri("v1/registrations", UriKind.Relative), ApiJsonContext.Default.IdsBody);
        Assert.Empty(active!.Ids);
    }

    [Fact]
    public async Task KillNineMidDownload_OriginIgnoresRange_RecordRestartsFromZeroAndEndsByteExact()
    {
        var url = $"{Origin.BaseUrl}files/norange.bin?size={Size}&rate={Rate}&ignoreRange=1";
        await using (var first = await StartNodeAsync())
        {
            using var created = await first.Client.CreateAsync(new { id = "norange", requests = new[] { url } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await first.Client.WaitForAsync("norange", r => r.Downloaded >= 20L * 1024 * 1024, "20 MiB downloaded", TimeSpan.FromSeconds(60));
            await first.KillAsync();
        }

        await using var second = await StartNodeAsync();
        var settled = await second.Client.WaitForSettledAsync("norange", TimeSpan.FromSeconds(120));

        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        Assert.Equal(Size, settled.Downloaded);
        var record = Assert.Single(await second.Client.MatchAllAsync("norange"));
        Assert.Equal(TestOrigin.Sha256Of(Size), record.Response!.Sha256);
        Assert.True(Origin.RangedRequestsFor("norange.bin") >= 1, "the restarted node should have asked for a range");
    }
}

/// <summary><see cref="CrashSafetyTests"/> on Akka.Persistence.Sql (<c>BgFetch:Storage:Journal=AkkaSql</c>).</summary>
public sealed class AkkaSqlCrashSafetyTests : CrashSafetyTests
{
    /// <inheritdoc />
    protected override StoredJournal Journal => StoredJournal.AkkaSql;
}
