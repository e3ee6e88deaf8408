namespace BgFetchCluster.Actors.Runtime;

/// <summary>
/// The recipe for an actor: how to make a fresh instance (used again on every restart) and how its
/// children are supervised. Immutable and shareable, like Akka's <c>Props</c>.
/// </summary>
public sealed class Props
{
    private readonly Func<ActorBase> _factory;

    private Props(Func<ActorBase> factory, SupervisorStrategy? supervisorStrategy, Type actorType)
    {
        _factory = factory;
        SupervisorStrategy = supervisorStrategy;
        ActorType = actorType;
    }

    /// <summary>The strategy applied to the actor's children; null uses the actor's own override or the default.</summary>
    public SupervisorStrategy? SupervisorStrategy { get; }

    /// <summary>The type the factory produces; for diagnostics.</summary>
    public Type ActorType { get; }

    /// <summary>Props whose instances come from <paramref name="factory"/>; it runs again on each restart.</summary>
    public static Props Create<TActor>(Func<TActor> factory)
        where TActor : ActorBase
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new Props(factory, null, typeof(TActor));
    }

    /// <summary>Props for an actor with a parameterless constructor.</summary>
    public static Props Create<TActor>()
        where TActor : ActorBase, new() => Create(static () => new TActor());

    /// <summary>The same recipe with another strategy for the actor's children.</summary>
    public Props WithSupervisorStrategy(SupervisorStrategy strategy) => new(_factory, strategy, ActorType);

    internal ActorBase NewActor() => _factory();

    /// <inheritdoc />
    public override string ToString() => $"Props({ActorType.Name})";
}
