using Akka.Cluster;
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
    private Task<RunningNode>? _running;

    /// <summary>The running node; endpoints wait for it while the node starts.</summary>
    public Task<RunningNode> Node => _running ??= StartedAsync();

    /// <summary>True once the regions run and this node is an <c>Up</c> member of its cluster.</summary>
    public bool IsReady =>
        node.Service.IsCompletedSuccessfully
        && Cluster.Get(node.Environment.System).SelfMember.Status == MemberStatus.Up;

    private async Task<RunningNode> StartedAsync() => new(await node.Service.ConfigureAwait(false), node.Store);
}
