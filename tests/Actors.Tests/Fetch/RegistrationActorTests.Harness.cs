using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Http;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Tests.Persistence;
using BgFetchCluster.Messages.Fetch;
using Xunit.Abstractions;
using AkkaTestKit = Akka.TestKit.Xunit2.TestKit;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// The registration entity started directly (not through sharding) over the product's journal plugin on a real SQLite
/// file, fetching from a real Kestrel origin on loopback with the real <see cref="Fetcher"/> and disk body store. The
/// scope index region, the pub/sub mediator and the entity's parent (which the shard would be) are test probes.
/// </summary>
public sealed partial class RegistrationActorTests : AkkaTestKit, IAsyncLifetime, IClassFixture<SqliteTestDatabase<RegistrationActorTests>>
{
    private static readonly TimeSpan Timeout = FetchTestConfig.Timeout;

    private readonly string _scope = "scope-" + Guid.NewGuid().ToString("N");
    private readonly string _incarnation = Guid.NewGuid().ToString("N");
    private readonly string _bodies = Path.Combine(Path.GetTempPath(), "bgfetch-registration-" + Guid.NewGuid().ToString("N"));
    private readonly Fetcher _fetcher = new(new FetchOptions
    {
        // The origin is on loopback.
        AllowPrivateNetworks = true,
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
    });

    private readonly FetchEnvironment _environment;

    /// <summary>The scope index region: told of settlements and releases, and acknowledges them when a test says so.</summary>
    private readonly TestProbe _index;

    /// <summary>The DistributedPubSub mediator progress is published to.</summary>
    private readonly TestProbe _mediator;

    /// <summary>The entities' parent, as their shard is in a node: it receives their passivation requests.</summary>
    private readonly TestProbe _shard;

    /// <summary>Who sends the commands.</summary>
    private readonly TestProbe _client;
    private LoopbackOrigin _origin = null!;

    public RegistrationActorTests(SqliteTestDatabase<RegistrationActorTests> database, ITestOutputHelper output)
        : base(FetchTestConfig.For(database.ConnectionString), output: output)
    {
        _index = CreateTestProbe();
        _mediator = CreateTestProbe();
        _shard = CreateTestProbe();
        _client = CreateTestProbe();
        _environment = new FetchEnvironment(Sys, _fetcher, new DiskResponseStore(_bodies), TimeProvider.System)
        {
            ScopeIndexRegion = _index,
            Mediator = _mediator,
            RegistrationRegion = CreateTestProbe(),
        };
    }

    async Task IAsyncLifetime.InitializeAsync() => _origin = await LoopbackOrigin.StartAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        await _origin.DisposeAsync();
        _fetcher.Dispose();
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        if (Directory.Exists(_bodies))
        {
            Directory.Delete(_bodies, recursive: true);
        }
    }

    private string EntityId(string id) => RegistrationActor.EntityIdFor(_scope, id, _incarnation);

    /// <summary>Starts an incarnation of the entity of <paramref name="id"/>, as the shard does on the first message for it.</summary>
    private Task<IActorRef> StartAsync(string id) => _shard.ChildActorOfAsync(RegistrationActor.Props(EntityId(id), _environment));

    /// <summary>Creates the registration <paramref name="id"/> of GET requests and returns its entity and first view.</summary>
    private async Task<(IActorRef Entity, RegistrationView View)> CreateAsync(string id, long downloadTotal, params string[] urls)
    {
        var entity = await StartAsync(id);
        var registered = new FetchRegistered(
            _scope, id, _incarnation,
            [.. urls.Select(static url => new FetchRequest(url, "GET", new Dictionary<string, string>(), null))],
            "title", [], downloadTotal, QuotaRemaining: 1L << 40, NotifyUrl: null, DateTimeOffset.UtcNow);
        entity.Tell(new CreateRegistration(EntityId(id), registered), _client);
        var view = await _client.ExpectMsgAsync<RegistrationView>(Timeout);
        return (entity, view);
    }

    /// <summary>Waits until the entity tells the scope index that <paramref name="id"/> settled (resends are skipped later).</summary>
    private async Task<MarkIdSettled> ExpectSettlementAnnouncedAsync(string id) =>
        await _index.FishForMessageAsync<MarkIdSettled>(m => m.Id == id, Timeout);

    /// <summary>Answers as the scope index does once the settlement is durable there.</summary>
    private void AcknowledgeSettlement(IActorRef entity, MarkIdSettled settled) =>
        entity.Tell(new IdSettledAck(settled.Id, settled.Incarnation), _index);

    private async Task<RegistrationView> GetViewAsync(IActorRef entity, string id)
    {
        entity.Tell(new GetRegistration(EntityId(id)), _client);
        return await _client.ExpectMsgAsync<RegistrationView>(Timeout);
    }

    /// <summary>The progress published so far; after a reply from the entity, it holds everything the entity published before.</summary>
    private async Task<List<RegistrationProgress>> PublishedSoFarAsync(string id)
    {
        var published = new List<RegistrationProgress>();
        while (_mediator.HasMessages)
        {
            var publish = Assert.IsType<Publish>(await _mediator.ReceiveOneAsync(TimeSpan.Zero));
            Assert.Equal(RegistrationActor.TopicFor(EntityId(id)), publish.Topic);
            published.Add(Assert.IsType<RegistrationProgress>(publish.Message));
        }

        return published;
    }

    /// <summary>Stops the entity and waits until it is gone, so its next incarnation recovers from what it journaled.</summary>
    private async Task StopAsync(IActorRef entity)
    {
        var watcher = CreateTestProbe();
        watcher.Watch(entity);
        Sys.Stop(entity);
        await watcher.ExpectTerminatedAsync(entity, Timeout);
    }

    /// <summary>Waits until the origin has seen <paramref name="count"/> requests for <paramref name="name"/>.</summary>
    private async Task AwaitRequestsAsync(string name, int count) =>
        await AwaitAssertAsync(
            () => Assert.True(_origin.RequestsFor(name) >= count, $"expected {count} request(s) for '{name}' at the origin, saw {_origin.RequestsFor(name)}"),
            Timeout);
}
