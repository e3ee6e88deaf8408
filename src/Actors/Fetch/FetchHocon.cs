using Akka.Configuration;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// The Akka settings the product changes from Akka's defaults, in one place. Operators override any of them
/// (and any other Akka setting) through the <c>akka</c> configuration section (API.md, "Configuration").
/// </summary>
public static class FetchHocon
{
    /// <summary>The product's HOCON, added before the host's own so that configuration wins over it.</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka {
          # Sharding's remember-entities and its coordinator write to the node's default journal and snapshot
          # store; a shard snapshots its remembered entities every 1,000 changes.
          cluster.sharding {
            # Shard locations in distributed data (Akka's recommendation since 1.5), not in the journal; remembered
            # entities in the journal (eventsourced): the ddata store's durable LMDB backend fails with the
            # LightningDB this feed serves (DESIGN.md). The region options say the same; the coordinator reads these.
            state-store-mode = ddata
            remember-entities-store = eventsourced
            snapshot-after = 1000
            # A registration's commands wait in the region while its shard moves; they are few per entity.
            buffer-size = 100000
          }
          # Progress is published whether or not anyone listens; nobody listening is normal, not a dead letter.
          cluster.pub-sub.send-to-dead-letters-when-no-subscribers = off
          # Large registrations (10,000 requests) answer with one message of all their records.
          remote.dot-netty.tcp.maximum-frame-size = 16 MiB
        }
        """);
}
