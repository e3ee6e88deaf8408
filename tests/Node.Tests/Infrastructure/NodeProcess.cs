using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A real node process (<c>dotnet BgFetchCluster.Node.dll</c>) on a free loopback port, for tests of
/// what only a process shows: kill -9 in the middle of a download, then a restart on the same data.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringWriter _output = new();

    private NodeProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The node's address.</summary>
    public string BaseUrl { get; }

    /// <summary>A client for the node's API.</summary>
    public HttpClient Client { get; }

    /// <summary>What the process wrote so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a Development node on <paramref name="dataDirectory"/> and waits until <c>/ready</c> answers.</summary>
    public static Task<NodeProcess> StartAsync(string dataDirectory, params string[] settings) =>
        StartAsync(dataDirectory, FreePort(), settings);

    /// <summary>
    /// Starts a Development node serving HTTP on <paramref name="port"/>, with <paramref name="environment"/> added to its
    /// environment variables, and waits until <c>/ready</c> answers.
    /// </summary>
    public static Task<NodeProcess> StartAsync(
        string dataDirectory, int port, IEnumerable<string> settings, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(dataDirectory, "127.0.0.1", port, settings, networkNamespace: null, environment);

    /// <summary>
    /// Starts a Development node serving HTTP on <paramref name="host"/>:<paramref name="port"/> and waits until
    /// <c>/ready</c> answers. With <paramref name="networkNamespace"/>, the node runs inside that Linux network namespace
    /// (<c>ip netns exec</c>, which execs <c>dotnet</c> in place, so the process id is the node's own).
    /// </summary>
    public static async Task<NodeProcess> StartAsync(
        string dataDirectory, string host, int port, IEnumerable<string> settings, string? networkNamespace,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var baseUrl = $"http://{host}:{port}/";
        var info = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (networkNamespace is not null)
        {
            foreach (var argument in (string[])["netns", "exec", networkNamespace, "dotnet"])
            {
                info.ArgumentList.Add(argument);
            }
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "BgFetchCluster.Node.dll"));
        info.ArgumentList.Add($"--urls={baseUrl}");
        info.ArgumentList.Add($"--BgFetch:Storage:DataDirectory={dataDirectory}");

        // Every message that is not marked node-local must survive Akka's serializer (docs/architecture.md, "Serialization").
        info.ArgumentList.Add("--akka:actor:serialize-messages=on");
        foreach (var setting in settings)
        {
            info.ArgumentList.Add(setting);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the node process.");
        var node = new NodeProcess(process, baseUrl);
        process.OutputDataReceived += (_, e) => node.Append(e.Data);
        process.ErrorDataReceived += (_, e) => node.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new NodeExitedException(process.ExitCode, node.Output);
            }

            try
            {
                using var ready = await node.Client.GetAsync(new Uri("ready", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    return node;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"The node did not become ready within 60 s:\n{node.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The operating system's id of the process.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Freezes the process (SIGSTOP), as a long GC pause or a frozen VM would: it holds its sockets but answers nothing.</summary>
    public void Pause() => Signal(19, "STOP");

    /// <summary>Lets a paused process run again (SIGCONT).</summary>
    public void Resume() => Signal(18, "CONT");

    /// <summary>Waits for the process to end by itself, for example after the cluster downed it.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The node did not exit within {timeout.TotalSeconds} s:\n{Output}");
        }
    }

    private void Signal(int signal, string name)
    {
        if (SendSignal(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill -{name} {_process.Id} failed.");
        }
    }

    /// <summary>
    /// Sends SIGTERM, as Kubernetes does before it stops a pod, and waits for the process to exit: the node runs
    /// Akka's CoordinatedShutdown (it leaves the cluster and hands its shards off) and then ends.
    /// </summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (SendSignal(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed.");
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The node did not exit within {timeout.TotalSeconds} s of SIGTERM:\n{Output}");
        }
    }

    /// <summary>Kills the process at once (SIGKILL): no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        Client.Dispose();
        _process.Dispose();
    }

    /// <summary>
    /// A TCP port free on <paramref name="host"/> (loopback when null) and kept for this test process: a node binds it
    /// later, and binds it again after a restart. It is drawn from below the kernel's ephemeral range, never from the
    /// range itself: a port that <c>bind(0)</c> handed out and gave back is the one an outgoing connection (Npgsql,
    /// HttpClient) may take as its source port before the node binds it, and the node then dies with "Address already
    /// in use" (seen once in CI, on Akka's remoting port). A lock file per port keeps two test processes that
    /// <c>dotnet test</c> runs side by side from drawing the same one.
    /// </summary>
    public static int FreePort(IPAddress? host = null)
    {
        host ??= IPAddress.Loopback;
        var (low, high) = PortsOutsideEphemeralRange();
        lock (ClaimedPorts)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(low, high + 1);
                if (ClaimedPorts.ContainsKey(port) || !TryClaimAcrossProcesses(port, out var claim))
                {
                    continue;
                }

                try
                {
                    using var listener = new TcpListener(host, port);
                    listener.Start();
                    ClaimedPorts[port] = claim;
                    return port;
                }
                catch (SocketException)
                {
                    claim.Dispose();
                }
            }
        }

        throw new InvalidOperationException($"No free TCP port in {low}-{high} after 1,000 attempts.");
    }

    private static readonly Dictionary<int, FileStream> ClaimedPorts = [];

    // On Unix .NET takes an exclusive flock(2) for FileShare.None, and the kernel drops it when the process ends,
    // however it ends: a crashed test run leaves no stale claim.
    private static bool TryClaimAcrossProcesses(int port, out FileStream claim)
    {
        var directory = Path.Combine(Path.GetTempPath(), "bgfetch-test-ports");
        Directory.CreateDirectory(directory);
        try
        {
            claim = new FileStream(Path.Combine(directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return true;
        }
        catch (IOException)
        {
            claim = null!;
            return false;
        }
    }

    private static (int Low, int High) PortsOutsideEphemeralRange()
    {
        const string RangeFile = "/proc/sys/net/ipv4/ip_local_port_range";
        var ephemeralLow = 49152;
        var ephemeralHigh = 65535;
        if (File.Exists(RangeFile))
        {
            var parts = File.ReadAllText(RangeFile).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            ephemeralHigh = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        }

        // Below the range when there is room (Linux's default range starts at 32768), else above it.
        return ephemeralLow > 12000 ? (10000, ephemeralLow - 1) : (ephemeralHigh + 1, 65535);
    }

    // .NET has no API to send a process a signal other than SIGKILL; libc's kill(2) is the standard way on Linux.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.WriteLine(line);
            }
        }
    }
}
