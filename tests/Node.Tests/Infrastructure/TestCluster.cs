using System.Net.Http.Json;
using BgFetchCluster.Messages.Fetch.Api;
using Npgsql;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A cluster of real node processes on loopback: each node on its own HTTP and Akka.Remote port, the first two
/// nodes the seeds, all sharing one fresh PostgreSQL database (journal, snapshots and, by default, the bodies).
/// A node can be killed (SIGKILL), terminated (SIGTERM) and started again on its ports.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private static readonly TimeSpan FormationTimeout = TimeSpan.FromSeconds(90);
    private readonly NodeProcess?[] _nodes;
    private readonly int[] _httpPorts;
    private readonly int[] _remotePorts;
    private readonly string[] _extraSettings;
    private readonly string _adminConnectionString;

    private TestCluster(int size, string databaseName, string adminConnectionString, string[] extraSettings)
    {
        _nodes = new NodeProcess?[size];
        _httpPorts = [.. Enumerable.Range(0, size).Select(_ => NodeProcess.FreePort())];
        _remotePorts = [.. Enumerable.Range(0, size).Select(_ => NodeProcess.FreePort())];
        _extraSettings = extraSettings;
        _adminConnectionString = adminConnectionString;
        DatabaseName = databaseName;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = databaseName }.ConnectionString;
    }

    /// <summary>The test's own database.</summary>
    public string DatabaseName { get; }

    /// <summary>The connection string of <see cref="DatabaseName"/>.</summary>
    public string ConnectionString { get; }

    /// <summary>The nodes' data directory (bodies live in PostgreSQL unless a test sets <c>Bodies=Files</c>).</summary>
    public TempDirectory Data { get; } = new();

    /// <summary>The number of node slots.</summary>
    public int Size => _nodes.Length;

    /// <summary>The running node in <paramref name="slot"/>; throws when it is down.</summary>
    public NodeProcess this[int slot] => _nodes[slot] ?? throw new InvalidOperationException($"Node {slot} is not running.");

    /// <summary>The Akka address of the node in <paramref name="slot"/>.</summary>
    public string AddressOf(int slot) => $"akka.tcp://bgfetch@127.0.0.1:{_remotePorts[slot]}";

    /// <summary>The slot of the node with this Akka address.</summary>
    public int SlotOf(string address) => Enumerable.Range(0, Size).First(slot => AddressOf(slot) == address);

    /// <summary>Creates the database, starts <paramref name="size"/> nodes and waits until every one sees all of them Up.</summary>
    public static async Task<TestCluster> StartAsync(int size, params string[] extraSettings)
    {
        var admin = Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
        {
            throw new InvalidOperationException(
                "BGFETCH_TEST_POSTGRES is not set: run scripts/test.sh (it starts a local PostgreSQL and sets it). Cluster tests need PostgreSQL.");
        }

        var cluster = new TestCluster(size, "bgfetch_cluster_" + Guid.NewGuid().ToString("N")[..12], admin, extraSettings);
        await cluster.ExecuteAdminAsync($"CREATE DATABASE \"{cluster.DatabaseName}\"");
        try
        {
            await Task.WhenAll(Enumerable.Range(0, size).Select(cluster.StartNodeAsync));
            await cluster.WaitForMembersAsync(size);
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
        var settings = new List<string>
        {
            "--BgFetch:Storage:Provider=PostgreSql",
            $"--BgFetch:Storage:ConnectionString={ConnectionString}",
            $"--BgFetch:Cluster:Port={_remotePorts[slot]}",
            $"--BgFetch:Cluster:SeedNodes:0={AddressOf(0)}",
            $"--BgFetch:Cluster:SeedNodes:1={AddressOf(1)}",

            // Off here: in a cluster every message between nodes really crosses the wire through the serializers, and
            // the verification would also run on Akka's own node-local distributed-data messages (ReadRepair), which
            // it cannot serialize, so sharding's coordinator would never start.
            "--akka:actor:serialize-messages=off",
        };
        settings.AddRange(_extraSettings);
        var node = await NodeProcess.StartAsync(Data.Path, _httpPorts[slot], settings);
        _nodes[slot] = node;
        return node;
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
