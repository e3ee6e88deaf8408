using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>An in-process node (the real Program, real SQLite in a temp directory) in Development.</summary>
public sealed class NodeFactory : WebApplicationFactory<Program>
{
    private readonly TempDirectory _data = new();
    private readonly Dictionary<string, string?> _settings = new(StringComparer.Ordinal);

    /// <summary>Adds configuration, for example <c>BgFetch:Limits:ScopeQuotaBytes</c>.</summary>
    public NodeFactory With(string key, string value)
    {
        _settings[key] = value;
        return this;
    }

    /// <summary>The node's data directory (journal and bodies).</summary>
    public string DataDirectory => _data.Path;

    /// <summary>The hosting environment; Development unless a test says otherwise.</summary>
    public string Environment { get; init; } = "Development";

    /// <summary>Serves the node on real Kestrel at a free loopback port (not the in-memory test server) and returns its address.</summary>
    public Uri StartKestrel()
    {
        UseKestrel(static options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new Uri(addresses.Single());
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);
        builder.UseSetting("BgFetch:Storage:DataDirectory", _data.Path);
        builder.UseSetting("BgFetch:Fetch:RetryBaseDelay", "00:00:00.050");

        // The idle trim is a collection of the whole process: a test process hosts many nodes, and one node's trim
        // would pause the others' sub-second timeouts. IdleMemoryTrimmerTests drive it directly.
        builder.UseSetting("BgFetch:Memory:TrimInterval", "00:00:00");

        // Every message that is not marked node-local must survive Akka's serializer (docs/architecture.md, "Serialization").
        builder.UseSetting("akka:actor:serialize-messages", "on");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _data.Dispose();
    }
}
