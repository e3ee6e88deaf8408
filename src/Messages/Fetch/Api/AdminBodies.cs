namespace BgFetchCluster.Messages.Fetch.Api;

/// <summary>A member of the cluster as <c>GET /v1/admin/cluster</c> shows it; <see cref="Status"/> is Akka's member status.</summary>
public sealed record ClusterMemberBody(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable, int UpNumber);

/// <summary>The body of <c>GET /v1/admin/cluster</c>: this node, the leader (null while there is none) and every member.</summary>
public sealed record ClusterBody(string Self, string? Leader, IReadOnlyList<ClusterMemberBody> Members);

/// <summary>One shard of a region: where it runs and how many entities it holds.</summary>
public sealed record ShardBody(string ShardId, string Address, int Entities);

/// <summary>One sharded entity type across the cluster, from Akka's cluster-sharding stats.</summary>
public sealed record RegionBody(string TypeName, IReadOnlyList<ShardBody> Shards, int Entities);

/// <summary>The body of <c>GET /v1/admin/sharding</c>.</summary>
public sealed record ShardingBody(IReadOnlyList<RegionBody> Regions);

/// <summary>The body of <c>POST /v1/admin/cluster/leave</c> and <c>/down</c>: the member's address.</summary>
public sealed record MemberAddressBody(string? Address);
