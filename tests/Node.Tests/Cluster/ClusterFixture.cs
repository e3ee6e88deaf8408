using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests.Cluster;

/// <summary>Three nodes and one origin, shared by the tests of a class that leave the cluster as they found it.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>The cluster.</summary>
    public TestCluster Cluster { get; private set; } = null!;

    /// <summary>The origin every registration fetches from.</summary>
    public TestOrigin Origin { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Origin = await TestOrigin.StartAsync();
        Cluster = await TestCluster.StartAsync(3);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        // Either may be missing when the start failed; the failure is reported by the tests.
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        if (Origin is not null)
        {
            await Origin.DisposeAsync();
        }
    }
}
