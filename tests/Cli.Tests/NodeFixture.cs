using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Cli.Tests;

/// <summary>
/// One real node process with API keys (scope <c>ops</c> for <see cref="ApiKey"/>) and an admin key, and a Kestrel
/// origin, shared by the tests of a class.
/// </summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public const string ApiKey = "cli-test-key";
    public const string AdminKey = "cli-admin-key";
    public const string Scope = "ops";

    private readonly TempDirectory _data = new();

    public NodeProcess Node { get; private set; } = null!;

    public TestOrigin Origin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await TestOrigin.StartAsync();
        Node = await NodeProcess.StartAsync(
            _data.Path,
            $"--BgFetch:Auth:ApiKeys:{ApiKey}={Scope}",
            $"--BgFetch:Auth:AdminKeys:{AdminKey}=operator");
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        await Origin.DisposeAsync();
        _data.Dispose();
    }
}
