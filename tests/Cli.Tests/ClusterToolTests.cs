using System.Text.Json;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Cli.Tests;

/// <summary>
/// The operator's round on a three-node cluster (real processes, PostgreSQL): any node shows every member and the
/// shards of the whole cluster, and <c>cluster leave</c> drains a node until it is gone.
/// </summary>
public sealed class ClusterToolTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ClusterLeave_DrainsANode_AndEveryNodeShowsTheWholeCluster()
    {
        foreach (var node in _cluster.Running)
        {
            var show = await RunAsync(node, "cluster", "show", "--output", "json");
            Assert.True(show.Exit == 0, show.Output + show.Error);
            using var json = JsonDocument.Parse(show.Output);
            var members = json.RootElement.GetProperty("members").EnumerateArray().ToList();
            Assert.Equal(3, members.Count);
            Assert.All(members, m => Assert.Equal("Up", m.GetProperty("status").GetString()));
        }

        var table = await RunAsync(_cluster[0], "cluster-sharding", "regions");
        Assert.True(table.Exit == 0, table.Output + table.Error);

        var leaving = _cluster.AddressOf(2);
        var leave = await RunAsync(_cluster[0], "cluster", "leave", leaving);
        Assert.True(leave.Exit == 0, leave.Output + leave.Error);
        Assert.Contains($"leave: accepted for {leaving}", leave.Output, StringComparison.Ordinal);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var show = await RunAsync(_cluster[1], "cluster", "show", "--output", "json");
            last = show.Output + show.Error;
            if (show.Exit == 0)
            {
                using var json = JsonDocument.Parse(show.Output);
                var addresses = json.RootElement.GetProperty("members").EnumerateArray().Select(static m => m.GetProperty("address").GetString()).ToList();
                if (addresses.Count == 2 && !addresses.Contains(leaving))
                {
                    return;
                }
            }

            await Task.Delay(250);
        }

        Assert.Fail($"{leaving} did not leave within 60 s; last 'cluster show': {last}");
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(NodeProcess node, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await BgFetchCli.RunAsync([.. args, "--node", node.BaseUrl], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
