using System.Net.Http.Json;
using BgFetchCluster.Messages.Fetch.Api;
using Npgsql;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A cluster of real node processes on loopback: each node on its own HTTP and Akka.Remote port, the first two
/// nodes the seeds, all sharing one fresh PostgreSQL database (journal, snapshots and, by default, the bodies).
/// A node can be killed (SIGKILL), terminated (SIGTERM) and started again on its ports. With
/// <see cref="TestClusterOptions.HostOf"/> and <see cref="TestClusterOptions.NamespaceOf"/> each node runs in a network
/// namespace of its own, so that a test can cut the network between them.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private static readonly TimeSpan FormationTimeout = TimeSpan.FromSeconds(90);
    private readonly NodeProcess?[] _nodes;
    private readonly int[] _httpPorts;
    private readonly int[] _remotePorts;
    private readonly int[] _starts;
    private readonly TestClusterOptions _options;
    private readonly string _adminConnectionString;

    private TestCluster(TestClusterOptions options, string databaseName, string adminConnectionString)
    {
        var size = options.Size;
        _options = options;
        _nodes = new NodeProcess?[size];
        _starts = new int[size];
        var namespaced = Enumerable.Range(0, size).Any(slot => options.NamespaceOf(slot) is not null);

        // In namespaces of their own every node has its own addresses, so all use the same well-known ports.
        _httpPorts = [.. Enumerable.Range(0, size).Select(_ => namespaced ? 8080 : NodeProcess.FreePort())];
        _remotePorts = [.. Enumerable.Range(0, size).Select(_ => namespaced ? 2552 : NodeProcess.FreePort())];
        _adminConnectionString = adminConnectionString;
        DatabaseName = databaseName;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = databaseName }.ConnectionString;
    }

    /// <summary>The test's own database.</summary>
    public string DatabaseName { get; }

    /// <summary>The connection string of <see cref="DatabaseName"/>, with the administrator's credentials.</summary>
    public string ConnectionString { get; }

    /// <summary>The nodes' data directory (bodies live in PostgreSQL unless a test sets <c>Bodies=Files</c>).</summary>
    public TempDirectory Data { get; } = new();

    /// <summary>The number of node slots.</summary>
    public int Size => _nodes.Length;

    /// <summary>The running node in <paramref name="slot"/>; throws when it is down.</summary>
    public NodeProcess this[int slot] => _nodes[slot] ?? throw new InvalidOperationException($"Node {slot} is not running.");

    /// <summary>True when the node of <paramref name="slot"/> was started and not killed or terminated since.</summary>
    public bool IsRunning(int slot) => _nodes[slot] is not null;

    /// <summary>The Akka address of the node in <paramref name="slot"/>.</summary>
    public string AddressOf(int slot) => $"akka.tcp://bgfetch@{_options.HostOf(slot)}:{_remotePorts[slot]}";

    /// <summary>The slot of the node with this Akka address.</summary>
    public int SlotOf(string address) => Enumerable.Range(0, Size).First(slot => AddressOf(slot) == address);

    /// <summary>
    /// The PostgreSQL <c>Application Name</c> of the current (or last) process of <paramref name="slot"/>: every start
    /// of a node gets a new one, so the database tells the writes of two incarnations of one node apart.
    /// </summary>
    public string ApplicationNameOf(int slot) => ApplicationName(slot, _starts[slot]);

    /// <summary>The <c>Application Name</c> of the <paramref name="start"/>-th process (from 1) of <paramref name="slot"/>.</summary>
    public static string ApplicationName(int slot, int start) => $"bgfetch-n{slot}-r{start}";

    /// <summary>Creates the database, starts <paramref name="size"/> nodes and waits until every one sees all of them Up.</summary>
    public static Task<TestCluster> StartAsync(int size, params string[] extraSettings) =>
        StartAsync(new TestClusterOptions { Size = size, ExtraSettings = extraSettings });

    /// <summary>Creates the database, starts the nodes of <paramref name="options"/> and waits until every one sees all of them Up.</summary>
    public static async Task<TestCluster> StartAsync(TestClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var admin = options.AdminConnectionString ?? Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
        {
            throw new InvalidOperationException(
                "BGFETCH_TEST_POSTGRES is not set: run scripts/test.sh (it starts a local PostgreSQL and sets it). Cluster tests need PostgreSQL.");
        }

        var cluster = new TestCluster(options, "bgfetch_cluster_" + Guid.NewGuid().ToString("N")[..12], admin);
        var owner = options.NodeUsername is null ? string.Empty : $" OWNER \"{options.NodeUsername}\"";
        await cluster.ExecuteAdminAsync($"CREATE DATABASE \"{cluster.DatabaseName}\"{owner}");
        try
        {
            if (options.PrepareDatabaseAsync is not null)
            {
                await options.PrepareDatabaseAsync(cluster.ConnectionString);
            }

            await Task.WhenAll(Enumerable.Range(0, options.Size).Select(cluster.StartNodeAsync));
            await cluster.WaitForMembersAsync(options.Size);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the node of <paramref name="slot"/> (again) on its ports and waits until it is ready.</summary>
    public async Task<NodeProcess> StartNodeAsync(int slot)
    {
        var start = ++_starts[slot];
        var connection = new NpgsqlConnectionStringBuilder(ConnectionString) { ApplicationName = ApplicationName(slot, start) };
        if (_options.NodeUsername is not null)
        {
            connection.Username = _options.NodeUsername;
            connection.Password = null;
        }

        var settings = new List<string>
        {
            "--BgFetch:Storage:Provider=PostgreSql",
            $"--BgFetch:Storage:ConnectionString={connection.ConnectionString}",
            $"--BgFetch:Cluster:Hostname={_options.HostOf(slot)}",
            $"--BgFetch:Cluster:Port={_remotePorts[slot]}",
            $"--BgFetch:Cluster:SeedNodes:0={AddressOf(0)}",
            $"--BgFetch:Cluster:SeedNodes:1={AddressOf(1)}",

            // Off here: in a cluster every message between nodes really crosses the wire through the serializers, and
            // the verification would also run on Akka's own node-local distributed-data messages (ReadRepair), which
            // it cannot serialize, so sharding's coordinator would never start.
            "--akka:actor:serialize-messages=off",
        };
        settings.AddRange(_options.ExtraSettings);
        var node = await NodeProcess.StartAsync(Data.Path, _options.HostOf(slot), _httpPorts[slot], settings, _options.NamespaceOf(slot));
        _nodes[slot] = node;
        return node;
    }

    /// <summary>Forgets the node of <paramref name="slot"/> after its process ended by itself (for example when it was downed).</summary>
    public async Task ForgetExitedAsync(int slot)
    {
        var node = this[slot];
        if (!node.HasExited)
        {
            throw new InvalidOperationException($"Node {slot} is still running.");
        }

        _nodes[slot] = null;
        await node.DisposeAsync();
    }

    /// <summary>Kills the node of <paramref name="slot"/> with SIGKILL.</summary>
    public async Task KillAsync(int slot)
    {
        var node = this[slot];
        _nodes[slot] = null;
        await node.KillAsync();
        await node.DisposeAsync();
    }

    /// <summary>Stops the node of <paramref name="slot"/> with SIGTERM and waits for it to exit.</summary>
    public async Task TerminateAsync(int slot)
    {
        var node = this[slot];
        _nodes[slot] = null;
        await node.TerminateAsync(TimeSpan.FromSeconds(60));
        await node.DisposeAsync();
    }

    /// <summary>The running nodes.</summary>
    public IEnumerable<NodeProcess> Running => _nodes.Where(static n => n is not null)!;

    /// <summary>Waits until every running node sees exactly <paramref name="count"/> members, all Up and reachable.</summary>
    public async Task WaitForMembersAsync(int count)
    {
        var deadline = DateTime.UtcNow + FormationTimeout;
        string last = "no answer";
        while (true)
        {
            var views = await Task.WhenAll(Running.Select(static n => n.Client.GetFromJsonAsync(new Uri("v1/admin/cluster", UriKind.Relative), ApiJsonContext.Default.ClusterBody)));
            if (views.All(v => v is not null && v.Members.Count == count && v.Members.All(static m => m.Status == "Up" && m.Reachable)))
            {
                return;
            }

            last = string.Join(" | ", views.Select(static v => v is null ? "null" : $"{v.Self}: {string.Join(", ", v.Members.Select(static m => $"{m.Address} {m.Status}{(m.Reachable ? "" : " unreachable")}"))}"));
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} Up members seen by every node within {FormationTimeout.TotalSeconds} s; last seen: {last}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Waits until every node of <paramref name="slots"/> sees exactly <paramref name="count"/> members, all Up and
    /// reachable; a node that does not answer (cut off, paused, starting) counts as not there yet.
    /// </summary>
    public async Task<TimeSpan> WaitForMembersAsync(int count, IReadOnlyCollection<int> slots, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(slots);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = "no answer";
        while (true)
        {
            var views = await Task.WhenAll(slots.Select(async slot =>
            {
                if (_nodes[slot] is not { } node)
                {
                    return (slot, View: (ClusterBody?)null, Error: "not running");
                }

                try
                {
                    using var answer = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    return (slot, View: await node.Client.GetFromJsonAsync(new Uri("v1/admin/cluster", UriKind.Relative), ApiJsonContext.Default.ClusterBody, answer.Token), Error: (string?)null);
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                    return (slot, View: (ClusterBody?)null, Error: e.GetType().Name);
                }
            }));
            if (views.All(v => v.View is not null && v.View.Members.Count == count && v.View.Members.All(static m => m.Status == "Up" && m.Reachable)))
            {
                return clock.Elapsed;
            }

            last = string.Join(" | ", views.Select(static v => v.View is null
                ? $"node {v.slot}: {v.Error}"
                : $"node {v.slot}: {string.Join(", ", v.View.Members.Select(static m => $"{m.Address} {m.Status}{(m.Reachable ? "" : " unreachable")}"))}"));
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Expected {count} Up members seen by nodes {string.Join(", ", slots)} within {timeout.TotalSeconds} s; last seen: {last}");
            }

            await Task.Delay(250);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Where(static n => n is not null))
        {
            await node!.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await ExecuteAdminAsync($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)");
        Data.Dispose();
    }

    private async Task ExecuteAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>How a <see cref="TestCluster"/> is laid out: its size, database server, addresses and extra settings.</summary>
public sealed record TestClusterOptions
{
    /// <summary>The number of node slots.</summary>
    public int Size { get; init; } = 3;

    /// <summary>The PostgreSQL server to create the cluster's database in; null: <c>BGFETCH_TEST_POSTGRES</c>.</summary>
    public string? AdminConnectionString { get; init; }

    /// <summary>The role the nodes connect as (it owns the database); null: the administrator's.</summary>
    public string? NodeUsername { get; init; }

    /// <summary>Settings every node gets (<c>--Key=value</c>).</summary>
    public IReadOnlyList<string> ExtraSettings { get; init; } = [];

    /// <summary>The address a slot's node listens on (HTTP and Akka.Remote).</summary>
    public Func<int, string> HostOf { get; init; } = static _ => "127.0.0.1";

    /// <summary>The network namespace a slot's node runs in; null: the test's own.</summary>
    public Func<int, string?> NamespaceOf { get; init; } = static _ => null;

    /// <summary>Runs on the new database (its connection string) before any node starts, for example to add schema.</summary>
    public Func<string, Task>? PrepareDatabaseAsync { get; init; }
}
