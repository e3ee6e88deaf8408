using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using BgFetchCluster.Chaos.Tests.Checking;
using BgFetchCluster.Chaos.Tests.Workload;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace BgFetchCluster.Chaos.Tests.Infrastructure;

/// <summary>
/// One case of the suite: three fresh nodes in their namespaces on a fresh audited database, the workload, and at the
/// end the checker. A case drives its nemesis in between and records its figures, which are printed to the test
/// output whether the case passes or not.
/// </summary>
public sealed class ChaosRun : IAsyncDisposable
{
    private readonly ChaosFixture _fixture;
    private readonly ITestOutputHelper _output;
    private readonly HttpClient[] _clients;
    private readonly List<(string Name, string Value)> _figures = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Name, NodeProcess Process)> _processes = [];
    private bool _reported;

    private ChaosRun(ChaosFixture fixture, ITestOutputHelper output, TestCluster cluster, string prefix)
    {
        _fixture = fixture;
        _output = output;
        Cluster = cluster;
        Prefix = prefix;

        // Clients of our own with a bound shorter than a hung node would take: a frozen or cut-off node must not stall a worker for long.
        // No proxy: the nodes' addresses are on the lab's bridge, which a proxy from the environment could not reach.
        _clients = [.. Enumerable.Range(0, cluster.Size).Select(slot => new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://{fixture.Lab.NodeAddress(slot)}:8080/"),
            Timeout = TimeSpan.FromSeconds(40),
        })];
        Load = new LoadGenerator(_clients, fixture.Origin.BaseUrl, prefix, Log);
        Checker = new HistoryChecker(RunningNodes, DatabaseConnectionString, Log);
    }

    /// <summary>The nodes.</summary>
    public TestCluster Cluster { get; }

    /// <summary>The namespaces.</summary>
    public NetworkLab Lab => _fixture.Lab;

    /// <summary>The private PostgreSQL.</summary>
    public PrivatePostgres Postgres => _fixture.Postgres;

    /// <summary>The origin.</summary>
    public TestOrigin Origin => _fixture.Origin;

    /// <summary>The prefix of this case's registration ids.</summary>
    public string Prefix { get; }

    /// <summary>Every answer of the nodes.</summary>
    public ResponseLog Log { get; } = new();

    /// <summary>How many node processes ended by themselves (downed) and were started again by <see cref="RestartAsync"/> or <see cref="RecoverAllAsync"/>.</summary>
    public int SelfExits { get; private set; }

    /// <summary>The workload.</summary>
    public LoadGenerator Load { get; }

    /// <summary>The checker.</summary>
    public HistoryChecker Checker { get; }

    /// <summary>The case's database, as the administrator (the checker reads the journal and the audit trail with it).</summary>
    public string DatabaseConnectionString => new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Pooling = false, Timeout = 5 }.ConnectionString;

    /// <summary>Starts three nodes in the lab's namespaces on a new database with the audit triggers, with <paramref name="settings"/> added.</summary>
    public static async Task<ChaosRun> StartAsync(ChaosFixture fixture, ITestOutputHelper output, string prefix, params string[] settings)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var lab = fixture.Lab;
        var clock = Stopwatch.StartNew();
        var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Size = ChaosFixture.Nodes,
            AdminConnectionString = fixture.Postgres.AdminConnectionString,
            NodeUsername = PrivatePostgres.NodeRole,
            HostOf = lab.NodeAddress,
            NamespaceOf = lab.NamespaceOf,
            PrepareDatabaseAsync = connectionString => AuditTrail.InstallAsync(
                new NpgsqlConnectionStringBuilder(connectionString) { Username = PrivatePostgres.NodeRole, Pooling = false }.ConnectionString),
            ExtraSettings =
            [
                "--BgFetch:Fetch:AllowPrivateNetworks=true",
                "--Logging:LogLevel:Default=Warning",
                "--Logging:LogLevel:BgFetchCluster=Information",
                .. settings,
            ],
        });
        var run = new ChaosRun(fixture, output, cluster, prefix);
        foreach (var slot in Enumerable.Range(0, cluster.Size))
        {
            run.Track(slot);
        }

        run.Figure("cluster formed in", clock.Elapsed);
        return run;
    }

    /// <summary>Keeps the output of the node process now in <paramref name="slot"/>, to show it when the checker finds something.</summary>
    public void Track(int slot) => _processes.Add((Cluster.ApplicationNameOf(slot), Cluster[slot]));

    /// <summary>
    /// Starts the node of <paramref name="slot"/> again and keeps its output. A start that ends by itself before it is
    /// ready (downed while it joined: <see cref="NodeExitedException"/>) is started again, as the node's supervisor
    /// (Kubernetes, systemd) would, up to three times.
    /// </summary>
    public async Task RestartAsync(int slot)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Cluster.StartNodeAsync(slot);
                Track(slot);
                return;
            }
            catch (NodeExitedException exited) when (attempt < 3)
            {
                NoteExit(slot, "exited before it was ready", exited.Output);
            }
        }
    }

    /// <summary>
    /// What the nodes' supervisor does until every slot is back: starts the killed nodes and every node whose process
    /// ended by itself (a node the Split Brain Resolver downs exits, docs/architecture.md, "Failure model"), until all
    /// three see each other Up (<see cref="SelfExits"/> counts the exits). Throws after <paramref name="timeout"/>.
    /// </summary>
    public async Task RecoverAllAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var slots = Enumerable.Range(0, Cluster.Size).ToList();
        while (true)
        {
            foreach (var slot in slots)
            {
                if (Cluster.IsRunning(slot) && Cluster[slot].HasExited)
                {
                    NoteExit(slot, "exited by itself", Cluster[slot].Output);
                    await Cluster.ForgetExitedAsync(slot);
                }

                if (!Cluster.IsRunning(slot))
                {
                    await RestartAsync(slot);
                }
            }

            try
            {
                await Cluster.WaitForMembersAsync(Cluster.Size, slots, TimeSpan.FromSeconds(5));
                return;
            }
            catch (TimeoutException) when (clock.Elapsed < timeout)
            {
                // Still joining, or a node was downed meanwhile and is started again above.
            }
        }
    }

    /// <summary>The running nodes and their clients.</summary>
    public IReadOnlyList<(int Slot, HttpClient Client)> RunningNodes() =>
        [.. Enumerable.Range(0, Cluster.Size).Where(Cluster.IsRunning).Select(slot => (slot, _clients[slot]))];

    /// <summary>The client of the node in <paramref name="slot"/> (its address, whether it runs or not).</summary>
    public HttpClient ClientOf(int slot) => _clients[slot];

    /// <summary>Records a figure of the case, printed at the end.</summary>
    public void Figure(string name, object value) =>
        _figures.Add((name, value switch
        {
            TimeSpan time => time.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s",
            double number => number.ToString("F1", CultureInfo.InvariantCulture),
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
        }));

    /// <summary>Prints a line to the test output, stamped with the time since the case started.</summary>
    public void Note(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1} s] {line}");

    /// <summary>Waits until at least <paramref name="count"/> slow downloads of the workload are past their first checkpoint (bytes stored on some node).</summary>
    public async Task WaitForDownloadsInFlightAsync(int count, TimeSpan timeout)
    {
        await WaitUntilAsync(
            async () =>
            {
                var slow = Load.Attempts.Where(static a => a.Slow && a.Outcome == CreateOutcome.Created).Select(static a => a.Id).ToList();
                var inFlight = 0;
                foreach (var id in slow)
                {
                    var view = await TryGetAsync(id);
                    if (view is { Result: BackgroundFetchResult.None, Downloaded: >= 256 * 1024 })
                    {
                        inFlight++;
                    }
                }

                return inFlight >= count;
            },
            $"{count} slow downloads past 256 KiB",
            timeout);
    }

    /// <summary>Waits until <paramref name="count"/> more creations through the node of <paramref name="slot"/> got a 201 from now on.</summary>
    public async Task WaitForCreationsThroughAsync(int slot, int count, TimeSpan timeout)
    {
        var before = Load.Attempts.Count(a => a.Slot == slot && a.Outcome == CreateOutcome.Created);
        await WaitUntilAsync(
            () => Task.FromResult(Load.Attempts.Count(a => a.Slot == slot && a.Outcome == CreateOutcome.Created) >= before + count),
            $"{count} creations through node {slot}",
            timeout);
    }

    /// <summary>
    /// The slot of the node writing the most bodies right now, from the audit trail (body writes of the last five
    /// seconds, by Application Name): the node whose loss moves the most downloads in flight.
    /// </summary>
    public async Task<int> BusiestWriterAsync()
    {
        await using var connection = new NpgsqlConnection(DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT application_name FROM chaos_audit
            WHERE table_name <> 'journal' AND at > clock_timestamp() - interval '5 seconds'
            GROUP BY application_name ORDER BY count(DISTINCT stream) DESC LIMIT 1
            """, connection);
        var busiest = await command.ExecuteScalarAsync() as string
            ?? throw new InvalidOperationException("No node wrote a body in the last five seconds.");
        return Enumerable.Range(0, Cluster.Size).First(slot => Cluster.ApplicationNameOf(slot) == busiest);
    }

    /// <summary>Ranged requests the origin saw for this case's bodies.</summary>
    public int RangedRequests() => Origin.Requests.Count(r => r.PathAndQuery.StartsWith("/files/" + Prefix, StringComparison.Ordinal) && r.Range is not null);

    /// <summary>The database server's clock (the audit trail's time base).</summary>
    public async Task<DateTime> DatabaseNowAsync()
    {
        await using var connection = new NpgsqlConnection(DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT clock_timestamp()", connection);
        return (DateTime)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Stops the workload, runs the checker (with the victims whose writes must stop once taken over), prints the
    /// figures and the findings, and fails listing the findings.
    /// </summary>
    public async Task StopLoadAndCheckAsync(IReadOnlyCollection<Victim> victims)
    {
        await Load.StopAsync();
        var attempts = Load.Attempts;
        Note($"workload stopped: {attempts.Count} attempts; checking");
        var checking = Stopwatch.StartNew();
        var findings = await Checker.CheckAsync(attempts, Prefix, victims);
        var audit = await AuditTrail.ReadAsync(DatabaseConnectionString);
        Figure("registrations created (201)", attempts.Count(static a => a.Outcome == CreateOutcome.Created));
        Figure("creations refused", string.Join(", ", attempts.Where(static a => a.Outcome == CreateOutcome.Refused).GroupBy(static a => (int)a.Status!.Value).Select(static g => $"{g.Count()}x{g.Key}")));
        Figure("creations unanswered (timeout/reset)", attempts.Count(static a => a.Outcome == CreateOutcome.Unknown));
        Figure("creations not sent (node unreachable)", attempts.Count(static a => a.Outcome == CreateOutcome.NotSent));
        Figure("slowest creation answer", attempts.Count == 0 ? TimeSpan.Zero : attempts.Max(static a => a.Took));
        Figure("registrations moved (written by more than one process)", ZombieWrites.MovedRegistrations(audit));
        Figure("resumed with Range (ranged requests at the origin)", RangedRequests());
        Figure("503s answered", Log.Count(System.Net.HttpStatusCode.ServiceUnavailable));
        Figure("creations answered 503 but stored anyway (docs/api.md: a 503 changes nothing)", Checker.StoredAfter503.Count == 0 ? "0" : string.Join(", ", Checker.StoredAfter503));
        Figure("of those, aborted and released by the node (nothing visible)", Checker.GivenUpAfter503.Count == 0 ? "0" : string.Join(", ", Checker.GivenUpAfter503));
        Figure("audited writes", audit.Count);
        Figure("checker took", checking.Elapsed);
        PrintFigures();
        _reported = true;
        foreach (var finding in findings)
        {
            _output.WriteLine("FINDING: " + finding);
        }

        if (findings.Count > 0)
        {
            PrintNodeWarnings();
        }

        Assert.True(findings.Count == 0, $"The checker found {findings.Count} broken invariants:\n" + string.Join("\n", findings.Take(50)));
    }

    /// <summary>Notes that the node of <paramref name="slot"/> ended by itself, with the cluster's warnings it logged last.</summary>
    private void NoteExit(int slot, string what, string output)
    {
        SelfExits++;
        var lines = output.Split('\n').Where(static l => l.Contains("SBR", StringComparison.Ordinal) || l.Contains("UNREACHABLE", StringComparison.Ordinal) || l.Contains("downed", StringComparison.OrdinalIgnoreCase) || l.Contains("quarantin", StringComparison.OrdinalIgnoreCase)).TakeLast(8);
        Note($"node {slot} {what}; its last cluster warnings:\n  " + string.Join("\n  ", lines.Select(static l => l.Trim())));
    }

    /// <summary>Prints the warnings and failures the node processes logged, for a case that found something.</summary>
    public void PrintNodeWarnings()
    {
        foreach (var (name, process) in _processes)
        {
            var lines = process.Output.Split('\n').Where(static l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.StartsWith(' ')).ToList();
            _output.WriteLine($"--- {name}: {lines.Count} log lines of warnings and failures (last 60) ---");
            foreach (var line in lines.TakeLast(60))
            {
                _output.WriteLine(line.TrimEnd());
            }
        }
    }

    /// <summary>Prints the figures recorded so far.</summary>
    public void PrintFigures()
    {
        _output.WriteLine($"--- figures of {Prefix} ---");
        foreach (var (name, value) in _figures)
        {
            _output.WriteLine($"{name}: {value}");
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; throws naming <paramref name="what"/> after <paramref name="timeout"/>. Returns the time it took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Expected {what} within {timeout.TotalSeconds} s.");
            }

            await Task.Delay(200);
        }

        return clock.Elapsed;
    }

    /// <summary>
    /// For a failure message: the active registrations as <paramref name="slot"/>'s node lists them, each with what it
    /// answers (state, bytes downloaded), so a wait that ran out says whether the moved registrations were stuck or ran.
    /// </summary>
    public async Task<string> DescribeActiveAsync(int slot)
    {
        try
        {
            using var answer = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var ids = await _clients[slot].GetStringAsync(new Uri("v1/registrations", UriKind.Relative), answer.Token);
            var lines = new List<string> { $"active through node {slot}: {ids}" };
            foreach (var id in System.Text.Json.JsonDocument.Parse(ids).RootElement.GetProperty("ids").EnumerateArray().Select(static e => e.GetString()).Take(20))
            {
                using var view = await _clients[slot].GetAsync(new Uri($"v1/registrations/{id}", UriKind.Relative), answer.Token);
                lines.Add($"  {id}: {(int)view.StatusCode} {await view.Content.ReadAsStringAsync(answer.Token)}");
            }

            return string.Join('\n', lines);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return $"listing the active registrations through node {slot} failed: {e.Message}";
        }
    }

    /// <summary>Runs <paramref name="wait"/> and returns <paramref name="clock"/>'s reading when it is done.</summary>
    public static async Task<TimeSpan> MeasureAsync(Stopwatch clock, Func<Task> wait)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(wait);
        await wait();
        return clock.Elapsed;
    }

    /// <summary>True when the node of <paramref name="slot"/> answers <c>/ready</c> with 200 within a few seconds.</summary>
    public async Task<bool> IsReadyAsync(int slot)
    {
        try
        {
            using var answer = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var ready = await _clients[slot].GetAsync(new Uri("ready", UriKind.Relative), answer.Token);
            return ready.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Load.StopAsync();
        if (!_reported)
        {
            // The case failed before its checker ran: what it measured so far, and what the nodes said.
            PrintFigures();
            PrintNodeWarnings();
        }

        foreach (var slot in Enumerable.Range(0, Cluster.Size).Where(Cluster.IsRunning))
        {
            try
            {
                // A node a failed case left frozen runs again, so its process ends as any other.
                Cluster[slot].Resume();
            }
            catch (InvalidOperationException)
            {
                // It had exited already.
            }
        }

        // BGFETCH_CHAOS_LOGS=<directory>: every node process's whole output, one file each, to read a case afterwards.
        if (Environment.GetEnvironmentVariable("BGFETCH_CHAOS_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            foreach (var (name, process) in _processes)
            {
                await File.WriteAllTextAsync(Path.Combine(logs, $"{Prefix}-{name}.log"), process.Output);
            }
        }

        await Lab.HealAsync();
        if (!Postgres.IsRunning)
        {
            await Postgres.StartAsync();
        }

        await Cluster.DisposeAsync();
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private async Task<RegistrationView?> TryGetAsync(string id)
    {
        foreach (var (slot, client) in RunningNodes())
        {
            try
            {
                using var answer = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await client.GetAsync(new Uri($"v1/registrations/{id}", UriKind.Relative), answer.Token);
                Log.Add("get " + id, slot, response.StatusCode);
                if (response.IsSuccessStatusCode)
                {
                    return await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.RegistrationView, answer.Token);
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
            }
        }

        return null;
    }
}
