using Akka.Actor;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// Wraps the <see cref="IJournal"/> that <see cref="BgFetchJournal"/> builds from its settings, in one actor system
/// only. It is the plugin's seam for tests that hold or fail its writes over a real database (a write answered
/// before it is durable, a write that fails) while everything else runs as in production. It is registered in code
/// with <see cref="Register"/> before the system's first persistent actor starts; no configuration can switch it on.
/// </summary>
internal sealed class JournalDecorator(Func<IJournal, IJournal> decorate) : IExtension
{
    private readonly Func<IJournal, IJournal> _decorate = decorate;

    /// <summary>Makes <paramref name="decorate"/> wrap the journal of <paramref name="system"/>'s BgFetch journal plugin.</summary>
    public static void Register(ActorSystem system, Func<IJournal, IJournal> decorate)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(decorate);
        system.RegisterExtension(new Provider(decorate));
    }

    /// <summary><paramref name="journal"/>, wrapped if <paramref name="system"/> has a decorator.</summary>
    public static IJournal Apply(ActorSystem system, IJournal journal) =>
        system.HasExtension<JournalDecorator>() ? system.GetExtension<JournalDecorator>()._decorate(journal) : journal;

    private sealed class Provider(Func<IJournal, IJournal> decorate) : ExtensionIdProvider<JournalDecorator>
    {
        public override JournalDecorator CreateExtension(ExtendedActorSystem system) => new(decorate);
    }
}
