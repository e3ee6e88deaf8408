using System.Net;
using System.Net.Sockets;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Node.Tests.Infrastructure;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// The connect-time SSRF guard through the real node: a node that does not allow private networks
/// refuses loopback targets, by literal, by name and behind a redirect, and sends them nothing; an
/// allowed range opens one origin on purpose; a denied range wins over everything. The "denied"
/// targets are loopback addresses with a listener that counts connections, so a failing guard
/// would show as a connection there and never as traffic leaving the machine.
/// </summary>
public sealed class SsrfGuardTests : IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private HostileOrigin _origin = null!;
    private TcpListener _trap = null!;
    private int _trapped;
    private Task _trapLoop = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _origin = await HostileOrigin.StartAsync();

        // 127.0.0.2 is loopback too, but outside the allowed 127.0.0.1/32 of these nodes.
        _trap = new TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        _trap.Start();
        _trapLoop = TrapAsync();
    }

    public async Task DisposeAsync()
    {
        _trap.Stop();
        await _trapLoop.ContinueWith(static _ => { }, TaskScheduler.Default);
        await _origin.DisposeAsync();
    }

    private int TrapPort => ((IPEndPoint)_trap.LocalEndpoint).Port;

    private async Task TrapAsync()
    {
        while (true)
        {
            using var socket = await _trap.AcceptSocketAsync();
            Interlocked.Increment(ref _trapped);
        }
    }

    /// <summary>A Development node with private networks off and only 127.0.0.1 allowed, as a production node would be configured for one internal origin.</summary>
    private static NodeFactory GuardedNode(string? denied = null)
    {
        var node = new NodeFactory()
            .With("BgFetch:Fetch:AllowPrivateNetworks", "false")
            .With("BgFetch:Fetch:AllowedNetworks:0", "127.0.0.1/32");
        return denied is null ? node : node.With("BgFetch:Fetch:DeniedNetworks:0", denied);
    }

    private static async Task<(RegistrationView Registration, RecordView Record)> FetchAsync(HttpClient client, string id, string url)
    {
        using var created = await client.CreateAsync(new { id, requests = new[] { url } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var registration = await client.WaitForSettledAsync(id, Settle);
        return (registration, Assert.Single(await client.MatchAllAsync(id)));
    }

    private static void AssertRefused(RegistrationView registration, RecordView record)
    {
        Assert.Equal(BackgroundFetchResult.Failure, registration.Result);
        Assert.Equal(BackgroundFetchFailureReason.FetchError, registration.FailureReason);
        Assert.Equal(RecordState.FetchError, record.State);
        Assert.Null(record.Response);
        Assert.Equal(0, registration.Downloaded);
    }

    [Fact]
    public async Task AllowedNetwork_IsFetched()
    {
        await using var node = GuardedNode();
        using var client = node.CreateClient();

        var (registration, record) = await FetchAsync(client, "allowed", $"{_origin.BaseUrl}ok/allowed?size=1000");

        Assert.Equal(BackgroundFetchResult.Success, registration.Result);
        Assert.Equal(1000, record.Response!.Size);
    }

    [Theory]
    [InlineData("http://127.0.0.2:{0}/direct")]
    [InlineData("http://[::ffff:127.0.0.2]:{0}/mapped")]
    public async Task LiteralAddressOutsideTheAllowedRange_IsRefused_NothingSent(string template)
    {
        await using var node = GuardedNode();
        using var client = node.CreateClient();

        var (registration, record) = await FetchAsync(client, "literal", string.Format(System.Globalization.CultureInfo.InvariantCulture, template, TrapPort));

        AssertRefused(registration, record);
        Assert.Equal(0, Volatile.Read(ref _trapped));
    }

    [Fact]
    public async Task RedirectToADeniedAddress_IsRefusedAtThatHop_NothingSent_NotRetried()
    {
        await using var node = GuardedNode();
        using var client = node.CreateClient();
        var target = Uri.EscapeDataString($"http://127.0.0.2:{TrapPort}/internal-admin");

        var (registration, record) = await FetchAsync(client, "redirect", $"{_origin.BaseUrl}redirect/to-trap?to={target}");

        AssertRefused(registration, record);
        Assert.Equal(0, Volatile.Read(ref _trapped));
        Assert.Equal(1, _origin.AttemptsFor("to-trap"));
    }

    [Fact]
    public async Task HostNameResolvingToLoopback_IsRefused_WhenPrivateNetworksAreOff()
    {
        await using var node = new NodeFactory().With("BgFetch:Fetch:AllowPrivateNetworks", "false");
        using var client = node.CreateClient();

        // "localhost" resolves to 127.0.0.1 (and ::1): the guard classifies what the name resolves to.
        var (registration, record) = await FetchAsync(client, "by-name", $"http://localhost:{_origin.Port}/ok/by-name");

        AssertRefused(registration, record);
        Assert.Equal(0, _origin.AttemptsFor("by-name"));
    }

    [Fact]
    public async Task DeniedNetwork_WinsOverAllowPrivateNetworks()
    {
        await using var node = new NodeFactory()
            .With("BgFetch:Fetch:AllowPrivateNetworks", "true")
            .With("BgFetch:Fetch:DeniedNetworks:0", "127.0.0.2/32");
        using var client = node.CreateClient();

        var (denied, deniedRecord) = await FetchAsync(client, "denied", $"http://127.0.0.2:{TrapPort}/x");
        var (allowed, _) = await FetchAsync(client, "private-ok", $"{_origin.BaseUrl}ok/private-ok?size=10");

        AssertRefused(denied, deniedRecord);
        Assert.Equal(0, Volatile.Read(ref _trapped));
        Assert.Equal(BackgroundFetchResult.Success, allowed.Result);
    }

    [Fact]
    public async Task InvalidNetworkSetting_StopsTheNodeFromStarting_NamingTheKey()
    {
        await using var node = new NodeFactory().With("BgFetch:Fetch:AllowedNetworks:0", "10.1.2.3/8");

        var failure = Assert.ThrowsAny<Exception>(() => node.CreateClient());

        Assert.Contains("BgFetch:Fetch:AllowedNetworks", failure.ToString(), StringComparison.Ordinal);
    }
}
