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
