using System.Globalization;
using System.Net;
using BgFetchCluster.Node.Tests.Infrastructure;
using Npgsql;

namespace BgFetchCluster.Chaos.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of the suite's own (initdb into a temporary directory, run as the <c>postgres</c> user), so a
/// test may stop it, start it again and exhaust its connections without touching the PostgreSQL other suites share.
/// It listens on the lab's bridge address, where every node namespace reaches it. The nodes connect as the
/// non-superuser <see cref="NodeRole"/>, so <c>max_connections</c> minus the reserved slots really limits them.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    /// <summary>The role the nodes (and the connection hog) log in as.</summary>
    public const string NodeRole = "bgfetch";

    private static readonly string Bin = FindBin();
    private readonly string _directory;

    private PrivatePostgres(string directory, string host, int port, int maxConnections)
    {
        _directory = directory;
        Host = host;
        Port = port;
        MaxConnections = maxConnections;
    }

    /// <summary>The address it listens on.</summary>
    public string Host { get; }

    /// <summary>Its TCP port.</summary>
    public int Port { get; }

    /// <summary>Its <c>max_connections</c>.</summary>
    public int MaxConnections { get; }

    /// <summary>The superuser's connection string, with Npgsql's defaults (the nodes' connection strings derive from it).</summary>
    public string AdminConnectionString => $"Host={Host};Port={Port};Username=postgres;Database=postgres";

    /// <summary>
    /// <see cref="AdminConnectionString"/> for the suite's own sessions: no pooling (the server goes away and comes back
    /// during tests, and a closed session must really end) and a short connect timeout.
    /// </summary>
    public string SessionConnectionString => AdminConnectionString + ";Pooling=false;Timeout=5;Command Timeout=60";

    /// <summary>True while the server runs.</summary>
    public bool IsRunning { get; private set; }

    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>Creates and starts a server on <paramref name="host"/>; <paramref name="stateDirectory"/> records it for clean-up after a crash.</summary>
    public static async Task<PrivatePostgres> StartAsync(string host, string stateDirectory, int maxConnections)
    {
        var directory = Path.Combine(Path.GetTempPath(), "bgfetch-chaos-pg-" + Path.GetFileName(stateDirectory));
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(stateDirectory, "pgdata"), directory);
        var server = new PrivatePostgres(directory, host, NodeProcess.FreePort(IPAddress.Parse(host)), maxConnections);
        try
        {
            await Shell.RunAsync("chown", "postgres:postgres", directory);
            await AsPostgresAsync($"{Bin}/initdb", "-D", server.DataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync");
            await File.AppendAllTextAsync(Path.Combine(server.DataDirectory, "postgresql.conf"), string.Create(CultureInfo.InvariantCulture, $"""

                listen_addresses = '{host}'
                port = {server.Port}
                unix_socket_directories = '{directory}'
                max_connections = {maxConnections}
                superuser_reserved_connections = 3
                shared_buffers = 64MB
                fsync = off
                synchronous_commit = off
                full_page_writes = off
                log_min_messages = warning

                """));
            await File.WriteAllTextAsync(Path.Combine(server.DataDirectory, "pg_hba.conf"), $"""
                local all all trust
                host all all {host}/24 trust

                """);
            await server.StartAsync();
            await using var connection = new NpgsqlConnection(server.SessionConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE ROLE {NodeRole} LOGIN CREATEDB", connection);
            await command.ExecuteNonQueryAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the (stopped) server and waits until it accepts connections.</summary>
    public async Task StartAsync()
    {
        await AsPostgresAsync($"{Bin}/pg_ctl", "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60", "start");
        IsRunning = true;
    }

    /// <summary>Stops the server (fast shutdown: sessions are cut, as when a database restarts under its clients).</summary>
    public async Task StopAsync()
    {
        IsRunning = false;
        await AsPostgresAsync($"{Bin}/pg_ctl", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop");
    }

    /// <summary>The server's log, for failure messages.</summary>
    public string Log => File.Exists(Path.Combine(_directory, "server.log")) ? File.ReadAllText(Path.Combine(_directory, "server.log")) : string.Empty;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopIfRunningAsync(_directory);
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Stops and removes the server a crashed run recorded in <paramref name="stateDirectory"/>, if any.</summary>
    internal static async Task RemoveLeftoverAsync(string stateDirectory)
    {
        var record = Path.Combine(stateDirectory, "pgdata");
        if (!File.Exists(record))
        {
            return;
        }

        var directory = (await File.ReadAllTextAsync(record)).Trim();
        if (directory.StartsWith(Path.Combine(Path.GetTempPath(), "bgfetch-chaos-pg-"), StringComparison.Ordinal) && Directory.Exists(directory))
        {
            await StopIfRunningAsync(directory);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task StopIfRunningAsync(string directory)
    {
        var data = Path.Combine(directory, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            await AsPostgresAsync($"{Bin}/pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "60", "stop").ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>The PostgreSQL server binaries: <c>BGFETCH_CHAOS_PG_BIN</c>, or the newest <c>/usr/lib/postgresql/*/bin</c> with initdb.</summary>
    private static string FindBin()
    {
        if (Environment.GetEnvironmentVariable("BGFETCH_CHAOS_PG_BIN") is { Length: > 0 } configured)
        {
            return configured;
        }

        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(static d => Path.Combine(d, "bin"))
                .Where(static d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(static d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), CultureInfo.InvariantCulture, out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException(
            "The nemesis suite needs PostgreSQL's server binaries (initdb, pg_ctl) under /usr/lib/postgresql/<version>/bin or in BGFETCH_CHAOS_PG_BIN.");
    }

    private static Task<string> AsPostgresAsync(string tool, params string[] arguments) =>
        Shell.RunAsync("runuser", ["-u", "postgres", "--", tool, .. arguments]);
}
