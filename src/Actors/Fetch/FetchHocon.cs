using Akka.Configuration;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// The Akka settings the product changes from Akka's defaults, in one place. Operators override any of them
/// (and any other Akka setting) through the <c>akka</c> configuration section (docs/api.md, "Configuration").
/// </summary>
public static class FetchHocon
{
    /// <summary>
    /// This version's <c>akka.cluster.app-version</c>: the wire protocol of creations changed with it (issue 17, cut 1),
    /// so a node asks whether every member is at least this before it takes one ask per creation
    /// (<see cref="FetchService.TakesOneAsk"/>). Sharding also prefers the newest version's nodes for new shards during
    /// a rolling update. Raise it when a change needs every node to understand a new message.
    /// </summary>
    public const string AppVersion = "1.17.0";

    /// <summary>The product's HOCON, added before the host's own so that configuration wins over it.</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString($$"""
        akka {
          # Sharding's remember-entities and its coordinator write to the node's default journal and snapshot
          # store; a shard snapshots its remembered entities every 1,000 changes.
          cluster.sharding {
            # Shard locations in distributed data (Akka's recommendation since 1.5), not in the journal; remembered
            # entities in the journal (eventsourced): the ddata store's durable LMDB backend fails with the
            # LightningDB this feed serves (docs/architecture.md). The region options say the same; the coordinator reads these.
            state-store-mode = ddata
            remember-entities-store = eventsourced
            # The coordinator writes a new shard home to a majority of the nodes, not to every node (Akka's default
            # below 5 nodes: majority-min-cap 5 plus write-majority-plus 3). With every node, one unreachable node stalls
            # every new allocation until it is removed and the stalled write has timed out (updating-state-timeout, 5 s):
            # the nemesis suite's partition case took 18-20 s to resume a moved download instead of 12-13 s whenever a
            # creation during the partition needed a new shard, and such creations waited up to 30 s. Reads at a new
            # coordinator's start still ask every node (read-majority-plus 5), so a write to a majority always meets them.
            coordinator-state.write-majority-plus = 0
            distributed-data.majority-min-cap = 2
            snapshot-after = 1000
            # A registration's commands wait in the region while its shard moves; they are few per entity.
            buffer-size = 100000
          }
          # Progress is published whether or not anyone listens; nobody listening is normal, not a dead letter.
          cluster.pub-sub.send-to-dead-letters-when-no-subscribers = off
          # Failover within 15 s of a kill -9 on a LAN or loopback (issue 12): a silent node is suspected about 4 s
          # after its last heartbeat (heartbeat every 1 s, 3 s of missing heartbeats tolerated), the Split Brain
          # Resolver (keep-majority) downs it after 5 s more without membership changes, and its shards, with
          # their remembered registrations, restart on the survivors within a few seconds. A slower or lossier
          # network needs a longer acceptable-heartbeat-pause (10-20 s across zones) and stable-after (20 s is
          # Akka's default): too short and a GC pause or a network blip downs a healthy node, which then restarts.
          cluster {
            app-version = "{{AppVersion}}"
            failure-detector {
              heartbeat-interval = 1 s
              acceptable-heartbeat-pause = 3 s
            }
            split-brain-resolver.stable-after = 5 s
            # After the down, sharding waits this long before it starts the lost shards elsewhere, so that a node that
            # was only cut off has stopped its own copies first. Akka's SBR defaults it to stable-after (5 s more); 2 s
            # is enough here because a copy that is still running cannot fork anything: the journal's unique key
            # refuses its next event and the body store's writer generation refuses its bytes (docs/architecture.md).
            down-removal-margin = 2 s
            # Regions and singleton proxies look for a moved coordinator every second instead of every 2 s.
            sharding.retry-interval = 1 s
            singleton-proxy.singleton-identification-interval = 1 s
          }
          # Large registrations (10,000 requests) answer with one message of all their records.
          remote.dot-netty.tcp.maximum-frame-size = 16 MiB
        }
        """);
}
