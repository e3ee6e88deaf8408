using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using BgFetchCluster.Chaos.Tests.Workload;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;
using Npgsql;

namespace BgFetchCluster.Chaos.Tests.Checking;

/// <summary>What the checker reads through: the nodes that run now, by slot.</summary>
public delegate IReadOnlyList<(int Slot, HttpClient Client)> RunningNodes();

/// <summary>
/// The checker: after the nemesis, reads the whole history back (through the API of whichever nodes run, and from
/// the database) and lists every broken invariant:
/// every registration that got a 201 exists and settles exactly once (one terminal event on its stream, one
/// <c>settled</c> event in its journal), as success, nothing stays pending; every body is byte-exact (SHA-256 against
/// the origin's, and the bytes served); no id has two incarnations; a creation that got no 201 but was stored is held to the same (no orphan); no 5xx
/// but 503 was answered; no write of a stale owner landed (<see cref="ZombieWrites"/>).
/// </summary>
public sealed class HistoryChecker(RunningNodes nodes, string databaseConnectionString, ResponseLog log)
{
    private const string SettledManifest = "bgfetch.registration.settled.v1";
    private const string ReleasedManifest = "bgfetch.registration.records-released.v1";
    private static readonly ConcurrentDictionary<long, string> Digests = new();
    private int _turn;

    /// <summary>How long registrations may take to settle once the nemesis is over.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Creations answered 503 that were stored all the same (found by the last <see cref="CheckAsync"/>).</summary>
    public IReadOnlyList<string> StoredAfter503 { get; private set; } = [];

    /// <summary>Of <see cref="StoredAfter503"/>, those the node gave up itself: aborted and released, never visible as created.</summary>
    public List<string> GivenUpAfter503 { get; } = [];

    /// <summary>Checks the history of <paramref name="attempts"/>; returns the findings (empty: every invariant held).</summary>
    public async Task<IReadOnlyList<string>> CheckAsync(IReadOnlyList<Attempt> attempts, string prefix, IReadOnlyCollection<Victim> victims)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        var findings = new List<string>();
        var journal = await ReadJournalAsync(prefix);
        foreach (var attempt in attempts.Where(a => a.Outcome == CreateOutcome.NotSent && journal.ContainsKey(a.Id)))
        {
            findings.Add($"{attempt.Id}: never reached its node ({attempt.Error}) but is in the journal ({string.Join(", ", journal[attempt.Id].Select(static p => p.PersistenceId))})");
        }

        // docs/api.md says a 503 changed nothing; a creation that timed out into a 503 while its first event was being
        // written (an outage longer than the request timeout) is stored all the same. Counted, and such a
        // registration is held to what a 201 promises (visible, settled once, byte-exact), unless its node gave it up
        // (aborted and released it, as FetchService does for a creation that timed out). Never an orphan.
        StoredAfter503 = [.. attempts.Where(a => a.Outcome == CreateOutcome.Refused && journal.ContainsKey(a.Id)).Select(static a => a.Id)];

        // Registrations that must settle: every 201, and every attempt that the journal shows was stored although it got no 201.
        var existing = attempts.Where(a => a.Outcome == CreateOutcome.Created || (a.Outcome != CreateOutcome.NotSent && journal.ContainsKey(a.Id))).ToList();
        var settled = await WaitForSettledAsync(existing, findings, prefix);

        // Journal again, after everything settled: one incarnation per id, one settled event per incarnation.
        journal = await ReadJournalAsync(prefix);
        foreach (var attempt in existing)
        {
            var incarnations = journal.GetValueOrDefault(attempt.Id) ?? [];
            if (incarnations.Count != 1)
            {
                findings.Add($"{attempt.Id}: {incarnations.Count} incarnations in the journal ({string.Join(", ", incarnations.Select(static p => p.PersistenceId))}), expected 1");
            }

            foreach (var (persistenceId, settledEvents, _) in incarnations.Where(static p => p.Settled != 1))
            {
                findings.Add($"{attempt.Id}: {settledEvents} settled events in the journal of {persistenceId}, expected exactly 1");
            }
        }

        foreach (var attempt in existing.Where(a => settled.ContainsKey(a.Id)))
        {
            await CheckSettledAsync(attempt, settled[attempt.Id], findings);
        }

        await CheckNothingActiveAsync(prefix, findings);
        findings.AddRange(log.ForbiddenServerErrors());
        findings.AddRange(ZombieWrites.Check(await AuditTrail.ReadAsync(databaseConnectionString), victims));
        return findings;
    }

    /// <summary>The lowercase hex SHA-256 of the origin's body of <paramref name="size"/> bytes.</summary>
    public static string DigestOf(long size) => Digests.GetOrAdd(size, TestOrigin.Sha256Of);

    private async Task<Dictionary<string, RegistrationView>> WaitForSettledAsync(List<Attempt> existing, List<string> findings, string prefix)
    {
        // A creation answered 503 that landed all the same is given up by its node: aborted and released, so that the
        // 503 changed nothing visible. Such a one is done once its journal shows exactly that (settled, then released).
        var givenUp = new HashSet<string>(StringComparer.Ordinal);
        var settled = new Dictionary<string, RegistrationView>(StringComparer.Ordinal);
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (true)
        {
            if (existing.Any(a => a.Outcome == CreateOutcome.Refused && !settled.ContainsKey(a.Id) && !givenUp.Contains(a.Id)))
            {
                var journal = await ReadJournalAsync(prefix);
                foreach (var attempt in existing.Where(a => a.Outcome == CreateOutcome.Refused && !settled.ContainsKey(a.Id)))
                {
                    if (journal.GetValueOrDefault(attempt.Id) is [{ Settled: 1, Released: 1 }])
                    {
                        givenUp.Add(attempt.Id);
                        GivenUpAfter503.Add(attempt.Id);
                    }
                }
            }

            foreach (var attempt in existing.Where(a => !settled.ContainsKey(a.Id) && !givenUp.Contains(a.Id)))
            {
                var (status, view) = await GetAsync(attempt.Id);
                last[attempt.Id] = view?.ToString() ?? status?.ToString() ?? "no answer";
                if (view is not null && view.Result != BackgroundFetchResult.None)
                {
                    settled[attempt.Id] = view;
                }
            }

            if (settled.Count + givenUp.Count == existing.Count)
            {
                return settled;
            }

            if (DateTime.UtcNow > deadline)
            {
                foreach (var attempt in existing.Where(a => !settled.ContainsKey(a.Id) && !givenUp.Contains(a.Id)))
                {
                    findings.Add($"{attempt.Id} (created through node {attempt.Slot}, {attempt.Outcome}): not settled {SettleTimeout.TotalSeconds} s after the nemesis; last seen {last[attempt.Id]}");
                }

                return settled;
            }

            await Task.Delay(500);
        }
    }

    private async Task CheckSettledAsync(Attempt attempt, RegistrationView view, List<string> findings)
    {
        if (view.Result != BackgroundFetchResult.Success)
        {
            findings.Add($"{attempt.Id}: settled {view}, expected success");
            return;
        }

        var (slot, client) = Next();
        try
        {
            var records = await client.MatchAllAsync(attempt.Id);
            log.Add("matchAll " + attempt.Id, slot, HttpStatusCode.OK);
            var record = records.Count == 1 ? records[0] : null;
            if (record?.Response is not { } response || record.State != RecordState.Success)
            {
                findings.Add($"{attempt.Id}: records {string.Join(", ", records)}, expected one success record");
                return;
            }

            var expected = DigestOf(attempt.Size);
            if (response.Sha256 != expected || response.Size != attempt.Size)
            {
                findings.Add($"{attempt.Id}: record says {response.Size} bytes, SHA-256 {response.Sha256}; the origin served {attempt.Size} bytes, {expected}");
            }

            using var body = await client.GetAsync(new Uri(response.BodyUrl.TrimStart('/'), UriKind.Relative));
            log.Add("body " + attempt.Id, slot, body.StatusCode);
            var bytes = await body.Content.ReadAsByteArrayAsync();
            var served = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (body.StatusCode != HttpStatusCode.OK || served != expected)
            {
                findings.Add($"{attempt.Id}: body answered {(int)body.StatusCode} with {bytes.Length} bytes, SHA-256 {served}; expected {attempt.Size} bytes, {expected}");
            }

            var events = await client.ReadEventsAsync(attempt.Id, TimeSpan.FromSeconds(30));
            log.Add("events " + attempt.Id, slot, HttpStatusCode.OK);
            var terminal = events.Where(static e => e.Event.StartsWith("backgroundfetch", StringComparison.Ordinal)).ToList();
            if (terminal.Count != 1 || terminal[0].Event != "backgroundfetchsuccess" || events[^1].Event != terminal[0].Event)
            {
                findings.Add($"{attempt.Id}: event stream {string.Join(", ", events.Select(static e => e.Event))}, expected exactly one terminal backgroundfetchsuccess, last");
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            findings.Add($"{attempt.Id}: reading it back through node {slot} failed: {e.GetType().Name}: {e.Message}");
        }
    }

    private async Task CheckNothingActiveAsync(string prefix, List<string> findings)
    {
        var (slot, client) = Next();
        try
        {
            using var response = await client.GetAsync(new Uri("v1/admin/registrations", UriKind.Relative));
            log.Add("admin registrations", slot, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                findings.Add($"listing the active registrations answered {(int)response.StatusCode}: {body}");
            }
            else if (body.Contains($"\"{prefix}", StringComparison.Ordinal))
            {
                findings.Add($"registrations still active after everything settled: {body}");
            }
        }
        catch (HttpRequestException e)
        {
            findings.Add($"listing the active registrations through node {slot} failed: {e.Message}");
        }
    }

    private async Task<(HttpStatusCode? Status, RegistrationView? View)> GetAsync(string id)
    {
        var (slot, client) = Next();
        try
        {
            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            using var response = await client.GetAsync(new Uri($"v1/registrations/{Uri.EscapeDataString(id)}", UriKind.Relative), cancellation.Token);
            log.Add("get " + id, slot, response.StatusCode);
            return (response.StatusCode, response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.RegistrationView, cancellation.Token) : null);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return (null, null);
        }
    }

    private (int Slot, HttpClient Client) Next()
    {
        var running = nodes();
        if (running.Count == 0)
        {
            throw new InvalidOperationException("No node runs to read the history through.");
        }

        return running[Interlocked.Increment(ref _turn) % running.Count];
    }

    /// <summary>Per registration id of the workload: its persistence ids and how many settled events each has.</summary>
    private async Task<Dictionary<string, List<(string PersistenceId, int Settled, int Released)>>> ReadJournalAsync(string prefix)
    {
        await using var connection = new NpgsqlConnection(databaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            // Counted from the audit trail: a release deletes a registration's history (only its highest row stays,
            // marked), but every event that ever landed left its audit row.
            """
            SELECT stream, count(*) FILTER (WHERE detail = @settled)::int, count(*) FILTER (WHERE detail = @released)::int
            FROM chaos_audit WHERE table_name = 'journal' AND kind = 'event' AND stream LIKE @pattern GROUP BY stream
            """,
            connection);
        command.Parameters.AddWithValue("settled", SettledManifest);
        command.Parameters.AddWithValue("released", ReleasedManifest);
        command.Parameters.AddWithValue("pattern", $"registration-default/{prefix}%");
        await using var reader = await command.ExecuteReaderAsync();
        var journal = new Dictionary<string, List<(string, int, int)>>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            var persistenceId = reader.GetString(0);
            var id = Uri.UnescapeDataString(persistenceId.Split('/')[1]);
            (journal.TryGetValue(id, out var list) ? list : journal[id] = []).Add((persistenceId, reader.GetInt32(1), reader.GetInt32(2)));
        }

        return journal;
    }
}
