using System.Diagnostics;
using Npgsql;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL 15 server owned by one test: its own data directory (initdb into a temporary directory), its own free
/// port on 127.0.0.1, and a small <c>max_connections</c> if asked. The test may stop it (an outage), start it again on
/// the same port and data, or kill it, without touching the machine's shared server that other tests use.
/// </summary>
/// <remarks>
/// Run as root (as in CI containers), the server runs as the <c>postgres</c> OS user through <c>runuser</c>, because
/// PostgreSQL refuses to run as root. Authentication is <c>trust</c> on loopback only.
/// </remarks>
public sealed class PrivatePostgres : IAsyncDisposable
{
    /// <summary>Where Debian and Ubuntu put the PostgreSQL 15 server binaries.</summary>
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private readonly TempDirectory _root = new();
    private readonly bool _asPostgresUser = Environment.UserName == "root";

    private PrivatePostgres(int port, int maxConnections)
    {
        Port = port;
        MaxConnections = maxConnections;
        DataDirectory = Path.Combine(_root.Path, "data");
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            Timeout = 5,
        }.ConnectionString;
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The server's <c>max_connections</c>.</summary>
    public int MaxConnections { get; }

    /// <summary>The data directory (initdb's).</summary>
    public string DataDirectory { get; }

    /// <summary>A superuser connection string to the <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>True while the server runs (as this object last started or stopped it).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Creates a fresh cluster with <paramref name="maxConnections"/> and starts it.</summary>
    public static async Task<PrivatePostgres> StartAsync(int maxConnections = 100)
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 server binaries are not in {BinDirectory}: install postgresql-15 (scripts/postgres.sh does).");
        }

        var server = new PrivatePostgres(NodeProcess.FreePort(), maxConnections);
        try
        {
            if (server._asPostgresUser)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", server._root.Path]);
                await RunAsync("chmod", ["755", server._root.Path]);
            }

            await server.RunServerToolAsync("initdb", ["-D", server.DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string to <paramref name="database"/> on this server.</summary>
    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { Database = database }.ConnectionString;

    /// <summary>Creates a database.</summary>
    public async Task CreateDatabaseAsync(string database)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Starts the server (again) on its port and data, and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var options = $"-p {Port} -k {DataDirectory} -c listen_addresses=127.0.0.1 -c max_connections={MaxConnections} -c fsync=off -c full_page_writes=off";
        await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_root.Path, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
        IsRunning = true;
    }

    /// <summary>
    /// Stops the server: <c>fast</c> ends every session with 57P01 (admin shutdown), as a restart does; <c>immediate</c>
    /// is a crash of the server (recovery runs at the next start).
    /// </summary>
    public async Task StopAsync(string mode = "fast")
    {
        await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", mode, "-w", "-t", "60", "stop"]);
        IsRunning = false;
    }

    /// <summary>The server's log, for failure messages.</summary>
    public string Log => File.Exists(Path.Combine(_root.Path, "server.log")) ? File.ReadAllText(Path.Combine(_root.Path, "server.log")) : string.Empty;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            try
            {
                await StopAsync("immediate");
            }
            catch (InvalidOperationException)
            {
                // Already gone; the directory goes anyway.
            }
        }

        NpgsqlConnection.ClearAllPools();
        _root.Dispose();
    }

    private Task RunServerToolAsync(string tool, IReadOnlyList<string> arguments)
    {
        var path = Path.Combine(BinDirectory, tool);
        return _asPostgresUser ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments]) : RunAsync(path, arguments);
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }
}
