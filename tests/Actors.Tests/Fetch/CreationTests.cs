using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Tests.Persistence;
using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using Xunit.Abstractions;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// <see cref="FetchService.CreateAsync"/> over a real scope index and real registration entities (started by a small
/// region that does what a shard does for them) on the product's journal over SQLite, fetching from a Kestrel origin
/// on loopback: one ask per creation, answered by the registration once the reservation is durable.
/// </summary>
public sealed class CreationTests(SqliteTestDatabase<CreationTests> database, ITestOutputHelper output)
    : CreationTestKit(database.ConnectionString, serializeMessages: true, output), IClassFixture<SqliteTestDatabase<CreationTests>>
{
    [Fact]
    public async Task CreateAsync_OneAskToTheIndex_TheRegistrationIsCreatedOnceTheReservationIsDurable_AndAnswers()
    {
        var node = await StartNodeAsync();
        Journal.Hold();

        var creating = node.Service.CreateAsync(Scope, Body("one", Origin.File("one", 1_000)));
        await Journal.WriteEntered.WaitAsync(Timeout);

        // The index got one message from the caller; its reservation's write is held, and nothing was forwarded yet.
        Assert.IsType<ReserveAndCreate>(await node.IndexInbox.ExpectMsgAsync<object>(Timeout));
        Assert.False(node.RegionInbox.HasMessages, "the creation was forwarded before the reservation was durable");
        Assert.False(creating.IsCompleted, "the creation was answered while the reservation's write was held");

        Journal.Release();
        var view = await creating.WaitAsync(Timeout);
        Assert.Equal("one", view.Id);
        Assert.Equal(1, view.RequestCount);

        // Nothing else was asked: the index saw no confirmation, the region only the index's creation.
        Assert.IsType<CreateRegistration>(await node.RegionInbox.ExpectMsgAsync<object>(Timeout));
        Assert.False(node.IndexInbox.HasMessages, "the caller sent the index more than one message");
        Assert.False(node.RegionInbox.HasMessages, "the caller sent the registration a message of its own");

        // The id is taken: a second creation is refused with the same problem as before.
        var refused = await Assert.ThrowsAsync<RegistrationRejectedException>(() => node.Service.CreateAsync(Scope, Body("one", Origin.File("one", 1_000))));
        Assert.Equal(409, refused.Status);
    }
}

/// <summary>A creation whose reservation write fails. Run with message verification off, see <see cref="FetchTestConfig.For"/>.</summary>
public sealed class CreationWriteFailureTests(SqliteTestDatabase<CreationWriteFailureTests> database, ITestOutputHelper output)
    : CreationTestKit(database.ConnectionString, serializeMessages: false, output), IClassFixture<SqliteTestDatabase<CreationWriteFailureTests>>
{
    [Fact]
    public async Task CreateAsync_IndexWriteFails_FailsTheCallAsUnavailable_CreatesNothing_AndFreesTheId()
    {
        var node = await StartNodeAsync();
        var watcher = CreateTestProbe();
        watcher.Watch(node.Index);
        Journal.Hold("scope-index-");

        var creating = node.Service.CreateAsync(Scope, Body("lost", Origin.File("lost", 10_000, hold: 1_000)));
        await Journal.WriteEntered.WaitAsync(Timeout);
        Journal.Fail();

        // The API answers this 503 UnavailableError: nothing was created.
        var error = await Assert.ThrowsAsync<ReservationLostException>(() => creating.WaitAsync(Timeout));
        Assert.Equal("lost", error.Id);
        await watcher.ExpectTerminatedAsync(node.Index, Timeout);

        // The registration region saw no creation, only the caller's release of what might exist (nothing does).
        var release = await node.RegionInbox.ExpectMsgAsync<ReleaseRegistration>(Timeout);
        var client = CreateTestProbe();
        node.Region.Tell(new GetRegistration(release.EntityId), client);
        await client.ExpectMsgAsync<RegistrationNotFound>(Timeout);
        Assert.False(node.RegionInbox.HasMessages, "a creation whose reservation was lost reached the registration region");

        // The index's next incarnation does not hold the id, and the id is free again.
        var next = await StartIndexAsync(node.Environment);
        node.Environment.ScopeIndexRegion = next;
        next.Tell(new ResolveId(Scope, "lost"), client);
        Assert.Null((await client.ExpectMsgAsync<IdResolved>(Timeout)).Incarnation);
        var again = await new FetchService(Sys, node.Region, next, CreateTestProbe(), new FetchLimits(), TimeProvider.System) { AskTimeout = Timeout }
            .CreateAsync(Scope, Body("lost", Origin.File("again", 1_000)));
        Assert.Equal("lost", again.Id);
    }
}

/// <summary>The creation tests' node: a scope index and a registration region in one environment, and a service over them.</summary>
public abstract class CreationTestKit : ScopeIndexTestKit, IAsyncLifetime
{
    protected CreationTestKit(string connectionString, bool serializeMessages, ITestOutputHelper output)
        : base(connectionString, serializeMessages, output)
    {
    }

    private LoopbackOrigin? _origin;

    private protected LoopbackOrigin Origin => _origin ?? throw new InvalidOperationException("The origin has not started.");

    async Task IAsyncLifetime.InitializeAsync() => _origin = await LoopbackOrigin.StartAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (_origin is not null)
        {
            await _origin.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts the index and the region in one environment. The service talks to both through probes that pass every
    /// message on and keep a copy (the inboxes), so a test can count what a creation sends.
    /// </summary>
    protected async Task<TestNode> StartNodeAsync()
    {
        var regionInbox = CreateTestProbe();
        var environment = NewEnvironment(retention: null, regionInbox);
        environment.Mediator = CreateTestProbe();
        var region = Sys.ActorOf(Props.Create(() => new EntityRegion(entityId => RegistrationActor.Props(entityId, environment))));
        Relay(regionInbox, region);
        var index = await StartIndexAsync(environment);
        environment.ScopeIndexRegion = index;
        var indexInbox = CreateTestProbe();
        Relay(indexInbox, index);
        var service = new FetchService(Sys, regionInbox, indexInbox, environment.Mediator, new FetchLimits(), TimeProvider.System) { AskTimeout = Timeout };
        return new TestNode(service, environment, index, indexInbox, region, regionInbox);
    }

    protected static CreateRegistrationBody Body(string id, params string[] urls) =>
        new(id, [.. urls.Select(static url => JsonSerializer.SerializeToElement(url))]);

    private static void Relay(TestProbe inbox, IActorRef target) =>
        inbox.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            target.Tell(message, sender);
            return AutoPilot.KeepRunning;
        }));

    /// <summary>The node's parts; the inboxes see every message sent to the index or the region.</summary>
    protected sealed record TestNode(
        FetchService Service, FetchEnvironment Environment, IActorRef Index, TestProbe IndexInbox, IActorRef Region, TestProbe RegionInbox);

    /// <summary>What a shard does for its entities here: starts one on its first message and forwards every message to it.</summary>
    private sealed class EntityRegion(Func<string, Props> props) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is not IEntityMessage entityMessage)
            {
                // A passivation request: the entities of these tests stay.
                return;
            }

            var name = Uri.EscapeDataString(entityMessage.EntityId);
            var entity = Context.Child(name);
            if (entity.IsNobody())
            {
                entity = Context.ActorOf(props(entityMessage.EntityId), name);
            }

            entity.Forward(message);
        }
    }
}
