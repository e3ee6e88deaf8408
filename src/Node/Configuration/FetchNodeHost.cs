using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Storage;

namespace BgFetchCluster.Node.Configuration;

/// <summary>The fetch service and the body store of a started node, as the endpoints use them.</summary>
/// <param name="Service">The BackgroundFetchManager operations.</param>
/// <param name="Store">The response bodies.</param>
public sealed record RunningNode(FetchService Service, IResponseStore Store);

/// <summary>What the endpoints wait for while the actor system starts, and what <c>/ready</c> reports.</summary>
public sealed class FetchNodeHost(FetchNode node)
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);
    private Task<RunningNode>? _running;

    /// <summary>The running node; endpoints wait for it while the node starts.</summary>
    public Task<RunningNode> Node => _running ??= StartedAsync();

    /// <summary>This node's cluster address once its actor system runs (<c>akka.tcp://bgfetch@host:port</c>), else null.</summary>
    public string? Address => node.Service.IsCompletedSuccessfully ? Cluster.Get(node.Environment.System).SelfAddress.ToString() : null;

    /// <summary>
    /// Why a creation should be answered 503 at once (null: go ahead): the node knows its store is down, and a probe
    /// confirms it (<see cref="FetchNode.KnownStoreOutageAsync"/>).
    /// </summary>
    public Task<string?> KnownStoreOutageAsync(CancellationToken cancellationToken = default) => node.KnownStoreOutageAsync(cancellationToken);

    /// <summary>
    /// Why the node cannot serve yet (null when it can): it is starting, it cannot reach its store, it is not an <c>Up</c>
    /// member of its cluster (joining, leaving, or down), or a shard region is not registered with its coordinator.
    /// </summary>
    public async Task<string?> NotReadyReasonAsync(CancellationToken cancellationToken = default)
    {
        if (!node.Service.IsCompletedSuccessfully)
        {
            return "The node is still starting.";
        }

        // A node that cannot reach its store can take no call that changes anything (issue 19): out of rotation
        // until the database answers again.
        if (await node.StoreProblemAsync(StatusTimeout, cancellationToken) is { } storeProblem)
        {
            return storeProblem;
        }

        var system = node.Environment.System;
        var status = Cluster.Get(system).SelfMember.Status;
        if (status != MemberStatus.Up)
        {
            return $"The node is {status}, not an Up member of its cluster.";
        }

        foreach (var typeName in new[] { FetchEnvironment.ScopeIndexTypeName, FetchEnvironment.RegistrationTypeName })
        {
            var region = ClusterSharding.Get(system).ShardRegion(typeName);
            try
            {
                // A region that knows no coordinator answers with no regions at all; a registered one is listed by it.
                var regions = await region.Ask<CurrentRegions>(GetCurrentRegions.Instance, StatusTimeout, cancellationToken);
                if (!regions.Regions.Contains(Cluster.Get(system).SelfAddress))
                {
                    return $"The '{typeName}' shard region is not registered with its coordinator yet.";
                }
            }
            catch (AskTimeoutException)
            {
                return $"The '{typeName}' shard region did not answer within {StatusTimeout.TotalSeconds} s.";
            }
        }

        return null;
    }

    private async Task<RunningNode> StartedAsync() => new(await node.Service.ConfigureAwait(false), node.Store);
}
