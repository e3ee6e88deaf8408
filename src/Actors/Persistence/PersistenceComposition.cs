using Akka.Hosting;
using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>Chooses the node's Akka.Persistence plugins (interim: in memory, until the plugin lands).</summary>
public static class PersistenceComposition
{
    /// <summary>Configures the journal and snapshot store the options name.</summary>
    public static AkkaConfigurationBuilder WithBgFetchJournal(this AkkaConfigurationBuilder builder, FetchNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddHocon(
            """
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """,
            HoconAddMode.Prepend);
    }
}
