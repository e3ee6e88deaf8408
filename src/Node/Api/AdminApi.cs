using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// The operators' API (API.md, "Admin API"): the cluster's members, the shards, every scope's active
/// registrations, and leave / down of a member. Any node answers for the whole cluster.
/// </summary>
public static class AdminApi
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);
    private static readonly string[] TypeNames = [FetchEnvironment.RegistrationTypeName, FetchEnvironment.ScopeIndexTypeName];

    /// <summary>Maps <c>/v1/admin</c>, behind the admin-key filter.</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var settings = endpoints.ServiceProvider.GetRequiredService<BgFetchSettings>();
        var group = endpoints.MapGroup("/v1/admin").AddEndpointFilter((invocation, next) => AdminKeyFilter(settings, invocation, next));
        group.WithRequestTimeout(Problems.RequestTimeoutPolicy);
        group.MapGet("/cluster", GetCluster).WithName("AdminCluster");
        group.MapGet("/sharding", GetShardingAsync).WithName("AdminSharding");
        group.MapGet("/registrations", GetRegistrationsAsync).WithName("AdminRegistrations");
        group.MapPost("/cluster/leave", (MemberAddressBody? body, FetchNode node) => ChangeMember(body, node, static (cluster, address) => cluster.Leave(address)))
            .WithName("AdminLeave");
        group.MapPost("/cluster/down", (MemberAddressBody? body, FetchNode node) => ChangeMember(body, node, static (cluster, address) => cluster.Down(address)))
            .WithName("AdminDown");
        return endpoints;
    }

    /// <summary>With API keys configured an admin key is required (401 otherwise); without keys (Development) the API is open.</summary>
    private static async ValueTask<object?> AdminKeyFilter(BgFetchSettings settings, EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        if (settings.Auth.ApiKeys.Count > 0)
        {
            var authorization = invocation.HttpContext.Request.Headers.Authorization.FirstOrDefault();
            var key = authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? authorization["Bearer ".Length..].Trim() : null;
            if (key is null || !settings.Auth.AdminKeys.ContainsKey(key))
            {
                return Problems.Of(401, "NotAllowedError", "The admin API needs 'Authorization: Bearer <key>' with a key from BgFetch:Auth:AdminKeys.");
            }
        }

        return await next(invocation);
    }

    private static Ok<ClusterBody> GetCluster(FetchNode node)
    {
        var cluster = Cluster.Get(node.Environment.System);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(static m => m.Address).ToHashSet();
        // Akka keeps each member's up-number internal; its order is public (IsOlderThan), so the number is the member's
        // rank by age among those that have been Up. Joining members have none yet (0).
        var aged = state.Members.Where(static m => m.Status is not (MemberStatus.Joining or MemberStatus.WeaklyUp)).ToList();
        aged.Sort(static (a, b) => a.IsOlderThan(b) ? -1 : b.IsOlderThan(a) ? 1 : 0);
        var members = state.Members
            .Select(m => new ClusterMemberBody(m.Address.ToString(), m.Status.ToString(), [.. m.Roles], !unreachable.Contains(m.Address), aged.IndexOf(m) + 1))
            .ToList();
        return TypedResults.Ok(new ClusterBody(cluster.SelfAddress.ToString(), state.Leader?.ToString(), members));
    }

    private static async Task<Ok<ShardingBody>> GetShardingAsync(FetchNode node, CancellationToken cancellationToken)
    {
        var sharding = ClusterSharding.Get(node.Environment.System);
        var regions = new List<RegionBody>();
        foreach (var typeName in TypeNames)
        {
            var stats = await sharding.ShardRegion(typeName).Ask<ClusterShardingStats>(new GetClusterShardingStats(QueryTimeout), QueryTimeout + QueryTimeout, cancellationToken);
            var shards = stats.Regions
                .SelectMany(region => region.Value.Stats.Select(shard => new ShardBody(shard.Key, region.Key.ToString(), shard.Value)))
                .OrderBy(static s => s.ShardId, StringComparer.Ordinal)
                .ToList();
            regions.Add(new RegionBody(typeName, shards, shards.Sum(static s => s.Entities)));
        }

        return TypedResults.Ok(new ShardingBody(regions));
    }

    /// <summary>
    /// Active registrations of one scope, or of every scope: the scopes are the scope-index entities, which are
    /// remembered and so always running; every region of the cluster is asked which it hosts.
    /// </summary>
    private static async Task<Ok<JsonObject>> GetRegistrationsAsync(string? scope, FetchNode node, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var service = (await host.Node).Service;
        var scopes = scope is { Length: > 0 } ? [scope] : await AllScopesAsync(node.Environment.System, cancellationToken);
        var registrations = new JsonArray();
        foreach (var each in scopes.Order(StringComparer.Ordinal))
        {
            foreach (var id in await service.GetIdsAsync(each, cancellationToken))
            {
                if (await service.GetAsync(each, id, cancellationToken) is { } view)
                {
                    var row = JsonSerializer.SerializeToNode(view, ApiJsonContext.Default.RegistrationView)!.AsObject();
                    row["scope"] = each;
                    registrations.Add(row);
                }
            }
        }

        return TypedResults.Ok(new JsonObject { ["registrations"] = registrations });
    }

    private static async Task<IReadOnlyCollection<string>> AllScopesAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        var regionPath = ClusterSharding.Get(system).ShardRegion(FetchEnvironment.ScopeIndexTypeName).Path.ToStringWithoutAddress();
        var members = Cluster.Get(system).State.Members.Where(static m => m.Status == MemberStatus.Up).Select(static m => m.Address);
        var answers = await Task.WhenAll(members.Select(async address =>
        {
            var region = system.ActorSelection(new RootActorPath(address) / regionPath.Split('/', StringSplitOptions.RemoveEmptyEntries));
            return await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, QueryTimeout, cancellationToken);
        }));
        return answers.SelectMany(static state => state.Shards).SelectMany(static shard => shard.EntityIds).ToHashSet(StringComparer.Ordinal);
    }

    private static Results<Accepted, ProblemHttpResult> ChangeMember(MemberAddressBody? body, FetchNode node, Action<Cluster, Address> change)
    {
        if (body?.Address is not { Length: > 0 } text || !Address.TryParse(text, out var address) || address.Host is null || address.Port is null)
        {
            return Problems.TypeError("The body must be {\"address\": \"akka.tcp://bgfetch@host:port\"}.");
        }

        var cluster = Cluster.Get(node.Environment.System);
        if (!cluster.State.Members.Any(m => m.Address.Equals(address)))
        {
            return Problems.Of(404, "NotFoundError", $"'{text}' is not a member of this cluster.");
        }

        change(cluster, address);
        return TypedResults.Accepted((string?)null);
    }
}
