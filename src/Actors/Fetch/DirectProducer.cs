using Akka.Actor;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Creates an actor by calling a constructor delegate, for <see cref="Props.CreateBy(IIndirectActorProducer, object[])"/>.
/// <c>Props.Create(() =&gt; new T(...))</c> builds an expression tree at every call, evaluates its arguments and then
/// constructs the actor by reflection; an entity is created once per registration, so its props call its constructor
/// directly (issue 17, cut 6). Props made this way cannot be deployed remotely: none of these actors is (sharding
/// creates entities on the node that owns their shard).
/// </summary>
/// <typeparam name="TActor">The actor created.</typeparam>
internal sealed class DirectProducer<TActor>(Func<TActor> create) : IIndirectActorProducer
    where TActor : ActorBase
{
    /// <inheritdoc />
    public Type ActorType => typeof(TActor);

    /// <inheritdoc />
    public ActorBase Produce() => create();

    /// <inheritdoc />
    public void Release(ActorBase actor)
    {
        // Nothing to release: the actor owns what it was given.
    }
}
