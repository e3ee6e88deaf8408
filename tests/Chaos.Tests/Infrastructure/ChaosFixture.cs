using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Chaos.Tests.Infrastructure;

/// <summary>
/// What every case of the suite shares: the namespaces and bridge, the private PostgreSQL on the bridge's address and
/// the origin there. Each case then starts its own three nodes on a fresh database (<see cref="ChaosRun"/>).
/// </summary>
public sealed class ChaosFixture : IAsyncLifetime
{
    /// <summary>Nodes per cluster.</summary>
    public const int Nodes = 3;

    /// <summary>The private server's <c>max_connections</c>: three nodes at the default budget of 20 each, the checker and the hog's room.</summary>
    public const int MaxConnections = 100;

    /// <summary>The namespaces and the bridge.</summary>
    public NetworkLab Lab { get; private set; } = null!;

    /// <summary>The suite's own PostgreSQL.</summary>
    public PrivatePostgres Postgres { get; private set; } = null!;

    /// <summary>The origin every registration fetches from, on the bridge's address.</summary>
    public TestOrigin Origin { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Lab = await NetworkLab.CreateAsync(Nodes);
        Postgres = await PrivatePostgres.StartAsync(Lab.HostAddress, Lab.StateDirectory, MaxConnections);
        Origin = await TestOrigin.StartAsync(Lab.HostAddress);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        // Any of them may be missing when the start failed; that failure is reported by the tests.
        if (Origin is not null)
        {
            await Origin.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }

        if (Lab is not null)
        {
            await Lab.DisposeAsync();
        }
    }
}

/// <summary>The one collection of the suite: its cases run one after another on the shared <see cref="ChaosFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ChaosCollection : ICollectionFixture<ChaosFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Chaos";
}
