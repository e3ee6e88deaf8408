using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BgFetchCluster.Actors.Tests.Persistence;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// The scope index's reservation write fails while the database is up (docs/api.md, the 503 row of
/// <c>POST /v1/registrations</c>: "a creation whose reservation write was refused"): a node on PostgreSQL whose journal
/// table gets a trigger that refuses the index's events naming one id. The caller hears 503 <c>UnavailableError</c>
/// with <c>Retry-After</c>, nothing of that creation is stored or listed, other creations go on, and the id is free
/// again once the database takes the write. Actor tests (<c>CreationTests</c>) cover the same path below the HTTP API.
/// Without BGFETCH_TEST_POSTGRES the test fails: a silent skip would report a green suite that never touched PostgreSQL.
/// </summary>
public sealed class ReservationLostTests : IAsyncDisposable
{
    private const string RefusedId = "refused-reservation";
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    private readonly PostgreSqlTestSchema<ReservationLostTests> _schema = new();

    public async ValueTask DisposeAsync() => await _schema.DisposeAsync();

    [Fact]
    public async Task ReservationWriteRefused_Answers503UnavailableError_StoresNothing_OthersGoOn_AndTheIdIsFreeAfterwards()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var node = new NodeFactory()
            .With("BgFetch:Storage:Provider", "PostgreSql")
            .With("BgFetch:Storage:ConnectionString", _schema.SearchPathConnectionString)

            // Off as in production, for this node only: the check of every message through Akka's serializer cannot
            // round-trip Akka's own journal envelope of a failed write (AsyncWriteJournal.Desequenced carrying the
            // PostgresException: Newtonsoft fails on the exception's HResult), so with it on the failure is swallowed and
            // the index never hears of it: the caller would wait out BgFetch:Http:RequestTimeout for a generic 503.
            .With("akka:actor:serialize-messages", "off");
        using var client = node.CreateClient();

        // A first creation makes the node create its tables and start the scope's index.
        using (var first = await client.CreateAsync(new { id = "before", requests = new[] { $"{origin.BaseUrl}files/before?size=1000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        await client.WaitForSettledAsync("before", Settle);

        // From here the database refuses every scope-index event that names the id: the reservation's write fails as a
        // constraint or a full disk would make it fail, not as an outage (the connection stays up, /ready stays 200).
        await _schema.ExecuteAsync($"""
            CREATE FUNCTION "{_schema.Schema}".refuse_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.persistence_id LIKE 'scope-index-%' AND position(convert_to('{RefusedId}', 'UTF8') IN NEW.payload) > 0 THEN
                    RAISE EXCEPTION 'the test refuses this reservation';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_reservation BEFORE INSERT ON "{_schema.Schema}".journal
                FOR EACH ROW EXECUTE FUNCTION "{_schema.Schema}".refuse_reservation();
            """);

        using (var refused = await client.CreateAsync(new { id = RefusedId, requests = new[] { $"{origin.BaseUrl}files/refused?size=1000" } }))
        {
            var body = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"a refused reservation answered {(int)refused.StatusCode}: {body}");
            using var problem = JsonDocument.Parse(body);
            Assert.Equal("UnavailableError", problem.RootElement.GetProperty("name").GetString());
            Assert.Contains(RefusedId, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        // Nothing of it is visible: no registration under the id, none listed, and no registration journaled for it.
        Assert.Null(await client.GetRegistrationAsync(RefusedId));
        var ids = await client.GetFromJsonAsync(new Uri("v1/registrations", UriKind.Relative), ApiJsonContext.Default.IdsBody);
        Assert.DoesNotContain(RefusedId, ids!.Ids);
        Assert.Equal(0L, await RegistrationStreamsOfAsync(RefusedId));

        // The index stopped on its failed write; the next creation in the scope starts it again from its journal.
        using (var other = await client.CreateAsync(new { id = "other", requests = new[] { $"{origin.BaseUrl}files/other?size=1000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        }

        Assert.Equal(BackgroundFetchResult.Success, (await client.WaitForSettledAsync("other", Settle)).Result);

        // Once the database takes the write, the id is free: the same creation succeeds and downloads.
        await _schema.ExecuteAsync($"DROP TRIGGER refuse_reservation ON \"{_schema.Schema}\".journal;");
        using (var again = await client.CreateAsync(new { id = RefusedId, requests = new[] { $"{origin.BaseUrl}files/refused?size=1000" } }))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        }

        var settled = await client.WaitForSettledAsync(RefusedId, Settle);
        Assert.Equal(BackgroundFetchResult.Success, settled.Result);
        Assert.Equal(1000, settled.Downloaded);
        Assert.Equal(1L, await RegistrationStreamsOfAsync(RefusedId));
    }

    /// <summary>How many registration entities (one per incarnation) the journal holds for the id.</summary>
    private async Task<long> RegistrationStreamsOfAsync(string id)
    {
        await using var command = _schema.DataSource.CreateCommand(
            $"SELECT count(DISTINCT persistence_id) FROM \"{_schema.Schema}\".journal WHERE persistence_id LIKE 'registration-%' AND position(@id IN persistence_id) > 0;");
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
