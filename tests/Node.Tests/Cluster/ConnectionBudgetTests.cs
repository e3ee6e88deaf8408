using System.Diagnostics;
using System.Net;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace BgFetchCluster.Node.Tests.Cluster;

/// <summary>
/// The connection budget (issue 19, <c>BgFetch:Storage:MaxConnections</c>): a three-node cluster under load holds at
/// most three budgets of PostgreSQL connections, counted by the server itself in <c>pg_stat_activity</c>, through a
/// rolling restart of every node; and nothing fails for want of a connection (waiting for one is back-pressure).
/// </summary>
public sealed class ConnectionBudgetTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MaxConnections = 5;
    private const int Downloads = 6;
    private const long Size = 8L * 1024 * 1024;
    private const long Rate = 1024 * 1024;
    private TestOrigin _origin = null!;
    private TestCluster? _cluster;

    public async Task InitializeAsync() => _origin = await TestOrigin.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task RollingRestart_UnderLoad_NeverHoldsMoreThanThreeTimesMaxConnections()
    {
        var cluster = _cluster = await TestCluster.StartAsync(3, $"--BgFetch:Storage:MaxConnections={MaxConnections}");
        using var stop = new CancellationTokenSource();
        var sampler = SampleConnectionsAsync(cluster, stop.Token);

        for (var i = 0; i < Downloads; i++)
        {
            var urls = new[] { $"{_origin.BaseUrl}files/budget{i}a.bin?size={Size}&rate={Rate}", $"{_origin.BaseUrl}files/budget{i}b.bin?size={Size}&rate={Rate}" };
            using var created = await cluster[i % cluster.Size].Client.CreateAsync(new { id = $"budget{i}", requests = urls });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // Creations keep coming through every running node while the nodes restart one after another.
        var creator = CreateContinuouslyAsync(cluster, stop.Token);
        for (var slot = 0; slot < cluster.Size; slot++)
        {
            await cluster.TerminateAsync(slot);
            await cluster.StartNodeAsync(slot);
            await cluster.WaitForMembersAsync(3);
        }

        var client = cluster[0].Client;
        for (var i = 0; i < Downloads; i++)
        {
            var settled = await client.WaitForSettledAsync($"budget{i}", TimeSpan.FromSeconds(180));
            Assert.True(settled.Result == BackgroundFetchResult.Success, $"budget{i} settled {settled}");
            Assert.Equal(2 * Size, settled.Downloaded);
        }

        await stop.CancelAsync();
        var (created2, refused) = await creator;
        var (max, maxOfOneProcess, maxSeen, samples) = await sampler;
        output.WriteLine($"MaxConnections={MaxConnections}: at most {max} connections of the three running node processes, {maxOfOneProcess} of one process, {maxSeen} in pg_stat_activity in all (backends of an exited process included) in {samples} samples; {created2} creations during the restart, {refused} answered otherwise");
        Assert.True(samples > 100, $"only {samples} samples of pg_stat_activity were taken");
        Assert.True(max > 0, "the sampler saw no connection of the nodes at all: is it looking at the right database?");
        Assert.True(maxOfOneProcess <= MaxConnections, $"one node process held {maxOfOneProcess} connections at once; its budget is {MaxConnections}");
        Assert.True(max <= 3 * MaxConnections, $"the three nodes held {max} connections at once; their budget is 3 x {MaxConnections}");
        Assert.True(created2 > 0, "no creation succeeded while the nodes restarted");
    }

    /// <summary>
    /// Counts the connections to the cluster's database by node process (each start of a node has its own
    /// <c>Application Name</c>) until stopped. The cluster's total counts the processes running when the sample is
    /// taken: a process that has just exited can leave a backend in pg_stat_activity for a few milliseconds after its
    /// socket closed (PostgreSQL ends the backend asynchronously), which the cluster no longer holds. That total is
    /// reported beside the others.
    /// </summary>
    private static async Task<(int Max, int MaxOfOneProcess, int MaxSeen, int Samples)> SampleConnectionsAsync(TestCluster cluster, CancellationToken cancellationToken)
    {
        // The sampler connects to the admin database, so its own connection is never counted.
        var admin = Environment.GetEnvironmentVariable("BGFETCH_TEST_POSTGRES")!;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(
            "SELECT application_name, count(*)::int FROM pg_stat_activity WHERE datname = @db GROUP BY application_name;", connection);
        command.Parameters.AddWithValue("db", cluster.DatabaseName);
        var (max, maxOfOneProcess, maxSeen, samples) = (0, 0, 0, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            // Read before the sample: a process started in between is left out of this sample, never counted twice.
            var running = Enumerable.Range(0, cluster.Size).Select(cluster.ApplicationNameOf).ToHashSet(StringComparer.Ordinal);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    counts[reader.IsDBNull(0) ? "" : reader.GetString(0)] = reader.GetInt32(1);
                }
            }

            max = Math.Max(max, counts.Where(c => running.Contains(c.Key)).Sum(static c => c.Value));
            maxOfOneProcess = Math.Max(maxOfOneProcess, counts.Values.DefaultIfEmpty(0).Max());
            maxSeen = Math.Max(maxSeen, counts.Values.Sum());
            samples++;
            try
            {
                await Task.Delay(20, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return (max, maxOfOneProcess, maxSeen, samples);
    }

    /// <summary>Creates small registrations round-robin through the running nodes; counts 201s and other answers (a node going away is neither).</summary>
    private async Task<(int Created, int Other)> CreateContinuouslyAsync(TestCluster cluster, CancellationToken cancellationToken)
    {
        var created = 0;
        var other = 0;
        var clock = Stopwatch.StartNew();
        for (var n = 0; !cancellationToken.IsCancellationRequested; n++)
        {
            var node = cluster.Running.ElementAtOrDefault(n % 3) ?? cluster.Running.FirstOrDefault();
            if (node is null)
            {
                await Task.Delay(50, CancellationToken.None);
                continue;
            }

            try
            {
                using var response = await node.Client.CreateAsync(new { id = $"load{n}", requests = new[] { $"{_origin.BaseUrl}files/load{n}.bin?size=65536" } });
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    created++;
                }
                else
                {
                    other++;
                    output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: load{n} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // The node is stopping or restarting.
            }
        }

        return (created, other);
    }
}
