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

/// <summary>An active registration as <c>GET /v1/admin/registrations</c> lists it: the Registration's members plus its scope.</summary>
public sealed record ScopedRegistrationView(
    string Id,
    long UploadTotal,
    long Uploaded,
    long DownloadTotal,
    long Downloaded,
    BackgroundFetchResult Result,
    BackgroundFetchFailureReason FailureReason,
    bool RecordsAvailable,
    string Title,
    IReadOnlyList<IconView> Icons,
    int RequestCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SettledAt,
    string Scope)
{
    /// <summary>The row of <paramref name="view"/>, a registration of <paramref name="scope"/>.</summary>
    public static ScopedRegistrationView From(string scope, RegistrationView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return new(
            view.Id, view.UploadTotal, view.Uploaded, view.DownloadTotal, view.Downloaded, view.Result, view.FailureReason,
            view.RecordsAvailable, view.Title, view.Icons, view.RequestCount, view.CreatedAt, view.SettledAt, scope);
    }
}

/// <summary>The body of <c>GET /v1/admin/registrations</c>: active registrations of one scope or of all.</summary>
public sealed record AdminRegistrationsBody(IReadOnlyList<ScopedRegistrationView> Registrations);
