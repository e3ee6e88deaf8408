namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// The base of tests that run real node processes: a fresh data directory for them and a Kestrel origin on
/// loopback, both made before each test and disposed after it.
/// </summary>
public abstract class NodeProcessTests : IAsyncLifetime
{
    /// <summary>The data directory the test's node processes share (journal and bodies).</summary>
    protected TempDirectory Data { get; } = new();

    /// <summary>The origin the test's registrations fetch from.</summary>
    protected TestOrigin Origin { get; private set; } = null!;

    /// <summary>The journal the test's node processes run on; a derived class picks another plugin.</summary>
    protected virtual StoredJournal Journal => StoredJournal.BgFetch;

    /// <summary>Starts a node process on <see cref="Data"/> with the <see cref="Journal"/>'s settings and <paramref name="settings"/>.</summary>
    protected Task<NodeProcess> StartNodeAsync(params string[] settings) =>
        NodeProcess.StartAsync(Data.Path, [.. Journal.Settings, .. settings]);

    /// <inheritdoc />
    public async Task InitializeAsync() => Origin = await TestOrigin.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await Origin.DisposeAsync();
        Data.Dispose();
    }
}
