using System.Globalization;

namespace BgFetchCluster.Chaos.Tests.Infrastructure;

/// <summary>
/// Network namespaces for the nodes, one each, joined by a Linux bridge in the test's own namespace. The bridge has
/// the first address of a private /24 (10.231.x.0/24, x random), where the test process, the private PostgreSQL and
/// the origin listen; node i has 10.231.x.(11+i). Partitions are blackhole routes, added in both directions, so
/// one node can be cut off from the others while it still reaches PostgreSQL, or from everything.
/// </summary>
/// <remarks>
/// Every name starts with <see cref="Prefix"/> and the lab's id. A run records its process id under
/// <see cref="StateRoot"/>; a later run removes the namespaces, links, processes and PostgreSQL of ids whose run is gone.
/// </remarks>
public sealed class NetworkLab : IAsyncDisposable
{
    /// <summary>The first letters of every namespace and link the suite creates.</summary>
    public const string Prefix = "bgfc";

    /// <summary>Where runs leave their process id (and their PostgreSQL's directory) for the clean-up of later runs.</summary>
    public const string StateRoot = "/run/bgfetch-chaos";

    private readonly List<(string? Namespace, string Destination)> _blackholes = [];
    private readonly int _octet;

    private NetworkLab(string id, int octet, int nodes)
    {
        Id = id;
        _octet = octet;
        Nodes = nodes;
    }

    /// <summary>The lab's id: four hex digits in every name.</summary>
    public string Id { get; }

    /// <summary>The number of node namespaces.</summary>
    public int Nodes { get; }

    /// <summary>The bridge's address: the test process, PostgreSQL and the origin listen here.</summary>
    public string HostAddress => $"10.231.{_octet}.1";

    /// <summary>This run's state directory (see <see cref="StateRoot"/>).</summary>
    public string StateDirectory => Path.Combine(StateRoot, Id);

    private string Bridge => $"{Prefix}{Id}br";

    /// <summary>The address of node <paramref name="node"/>.</summary>
    public string NodeAddress(int node) => $"10.231.{_octet}.{11 + node}";

    /// <summary>The network namespace of node <paramref name="node"/>.</summary>
    public string NamespaceOf(int node) => $"{Prefix}{Id}n{node}";

    /// <summary>Creates the bridge and one namespace per node; fails loudly (never skips) when the machine does not allow it.</summary>
    public static async Task<NetworkLab> CreateAsync(int nodes)
    {
        await RemoveLeftoversAsync();
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2));
        var octet = await FreeOctetAsync();
        var lab = new NetworkLab(id, octet, nodes);
        Directory.CreateDirectory(lab.StateDirectory);
        await File.WriteAllTextAsync(Path.Combine(lab.StateDirectory, "pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            await Shell.RunAsync("ip", "link", "add", "name", lab.Bridge, "type", "bridge");
            await Shell.RunAsync("ip", "addr", "add", $"{lab.HostAddress}/24", "dev", lab.Bridge);
            await Shell.RunAsync("ip", "link", "set", lab.Bridge, "up");
            for (var node = 0; node < nodes; node++)
            {
                var ns = lab.NamespaceOf(node);
                var hostSide = $"{Prefix}{id}h{node}";
                var nodeSide = $"{Prefix}{id}p{node}";
                await Shell.RunAsync("ip", "netns", "add", ns);
                await Shell.RunAsync("ip", "link", "add", hostSide, "type", "veth", "peer", "name", nodeSide);
                await Shell.RunAsync("ip", "link", "set", nodeSide, "netns", ns);
                await Shell.RunAsync("ip", "link", "set", hostSide, "master", lab.Bridge);
                await Shell.RunAsync("ip", "link", "set", hostSide, "up");
                await Shell.RunAsync("ip", "-n", ns, "addr", "add", $"{lab.NodeAddress(node)}/24", "dev", nodeSide);
                await Shell.RunAsync("ip", "-n", ns, "link", "set", nodeSide, "up");
                await Shell.RunAsync("ip", "-n", ns, "link", "set", "lo", "up");
            }

            return lab;
        }
        catch (Exception e)
        {
            await lab.DisposeAsync();
            throw new InvalidOperationException(
                "The nemesis suite could not create its network namespaces and bridge (it needs root and `ip netns`); it fails rather than skips. " + e.Message, e);
        }
    }

    /// <summary>
    /// Cuts node <paramref name="node"/> off from the other nodes and, with <paramref name="fromHost"/>, from the
    /// bridge's address too (PostgreSQL, the origin and the test itself): blackhole routes on both sides of each cut.
    /// </summary>
    public async Task IsolateAsync(int node, bool fromHost)
    {
        for (var other = 0; other < Nodes; other++)
        {
            if (other != node)
            {
                await BlackholeAsync(NamespaceOf(node), NodeAddress(other));
                await BlackholeAsync(NamespaceOf(other), NodeAddress(node));
            }
        }

        if (fromHost)
        {
            await BlackholeAsync(NamespaceOf(node), HostAddress);
            await BlackholeAsync(null, NodeAddress(node));
        }
    }

    /// <summary>Removes every cut.</summary>
    public async Task HealAsync()
    {
        foreach (var (ns, destination) in _blackholes)
        {
            string[] command = ["route", "del", "blackhole", $"{destination}/32"];
            await Shell.RunAsync("ip", ns is null ? command : ["-n", ns, .. command]);
        }

        _blackholes.Clear();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _blackholes.Clear();
        await RemoveAsync(Id);
    }

    private async Task BlackholeAsync(string? ns, string destination)
    {
        string[] command = ["route", "add", "blackhole", $"{destination}/32"];
        await Shell.RunAsync("ip", ns is null ? command : ["-n", ns, .. command]);
        _blackholes.Add((ns, destination));
    }

    private static async Task<int> FreeOctetAsync()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var octet = System.Security.Cryptography.RandomNumberGenerator.GetInt32(16, 250);
            var used = await Shell.RunAsync("ip", "-o", "addr", "show", "to", $"10.231.{octet}.0/24");
            var routed = await Shell.RunAsync("ip", "route", "show", "to", "match", $"10.231.{octet}.1");
            if (used.Trim().Length == 0 && !routed.Contains($"10.231.{octet}.", StringComparison.Ordinal))
            {
                return octet;
            }
        }

        throw new InvalidOperationException("No free /24 in 10.231.0.0/16 for the nemesis suite's bridge.");
    }

    /// <summary>Removes what runs that are no longer alive left behind: their node processes, namespaces, links and PostgreSQL.</summary>
    private static async Task RemoveLeftoversAsync()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in (await Shell.RunAsync("ip", "netns", "list")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (name.StartsWith(Prefix, StringComparison.Ordinal) && name.Length >= Prefix.Length + 4)
            {
                ids.Add(name.Substring(Prefix.Length, 4));
            }
        }

        foreach (var line in (await Shell.RunAsync("ip", "-o", "link", "show")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(':', 3)[1].Trim().Split('@')[0];
            if (name.StartsWith(Prefix, StringComparison.Ordinal) && name.Length >= Prefix.Length + 4)
            {
                ids.Add(name.Substring(Prefix.Length, 4));
            }
        }

        if (Directory.Exists(StateRoot))
        {
            ids.UnionWith(Directory.GetDirectories(StateRoot).Select(Path.GetFileName).OfType<string>());
        }

        foreach (var id in ids.Where(static id => !IsOwnerAlive(id)))
        {
            await RemoveAsync(id);
        }
    }

    private static bool IsOwnerAlive(string id)
    {
        var pidFile = Path.Combine(StateRoot, id, "pid");
        return File.Exists(pidFile)
            && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid)
            && pid != Environment.ProcessId
            && Directory.Exists($"/proc/{pid}");
    }

    private static async Task RemoveAsync(string id)
    {
        foreach (var line in (await Shell.RunAsync("ip", "netns", "list")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var ns = line.Split(' ')[0];
            if (!ns.StartsWith(Prefix + id, StringComparison.Ordinal))
            {
                continue;
            }

            // Node processes of a crashed run may still run in the namespace.
            foreach (var pid in (await Shell.RunAsync("ip", "netns", "pids", ns)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await Shell.TryRunAsync("kill", "-KILL", pid.Trim());
            }

            await Shell.TryRunAsync("ip", "netns", "del", ns);
        }

        foreach (var line in (await Shell.RunAsync("ip", "-o", "link", "show")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(':', 3)[1].Trim().Split('@')[0];
            if (name.StartsWith(Prefix + id, StringComparison.Ordinal))
            {
                await Shell.TryRunAsync("ip", "link", "del", name);
            }
        }

        var state = Path.Combine(StateRoot, id);
        await PrivatePostgres.RemoveLeftoverAsync(state);
        if (Directory.Exists(state))
        {
            Directory.Delete(state, recursive: true);
        }
    }
}
