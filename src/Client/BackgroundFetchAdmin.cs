using System.Net.Http.Json;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch.Api;

namespace BgFetchCluster.Client;

/// <summary>
/// The operators' admin API of a node (docs/api.md, "Admin API"): members, shards, every scope's registrations, leave and
/// down. Give it an <see cref="HttpClient"/> whose <c>BaseAddress</c> is any node and which carries an admin key.
/// </summary>
public sealed class BackgroundFetchAdmin(HttpClient http)
{
    private readonly HttpClient _http = http ?? throw new ArgumentNullException(nameof(http));

    /// <summary><c>GET /v1/admin/cluster</c>: this node, the leader and every member.</summary>
    public async Task<ClusterBody> GetClusterAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("v1/admin/cluster", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.ClusterBody, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>GET /v1/admin/sharding</c>: every sharded entity type with its shards, where they run and their entities.</summary>
    public async Task<ShardingBody> GetShardingAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("v1/admin/sharding", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.ShardingBody, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /v1/admin/registrations</c>: the active registrations of <paramref name="scope"/>, or of every scope when null;
    /// each is a Registration with its <c>scope</c>.
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> GetRegistrationsAsync(string? scope = null, CancellationToken cancellationToken = default)
    {
        var uri = scope is { Length: > 0 } ? $"v1/admin/registrations?scope={Uri.EscapeDataString(scope)}" : "v1/admin/registrations";
        using var response = await _http.GetAsync(new Uri(uri, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await BackgroundFetchManager.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
        return body.TryGetProperty("registrations", out var rows) ? [.. rows.EnumerateArray()] : [];
    }

    /// <summary><c>POST /v1/admin/cluster/leave</c>: the member leaves gracefully, handing its shards off.</summary>
    public Task LeaveAsync(string address, CancellationToken cancellationToken = default) =>
        ChangeMemberAsync("v1/admin/cluster/leave", address, cancellationToken);

    /// <summary><c>POST /v1/admin/cluster/down</c>: the member is marked down.</summary>
    public Task DownAsync(string address, CancellationToken cancellationToken = default) =>
        ChangeMemberAsync("v1/admin/cluster/down", address, cancellationToken);

    private async Task ChangeMemberAsync(string path, string address, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync(
            new Uri(path, UriKind.Relative), new MemberAddressBody(address), ApiJsonContext.Default.MemberAddressBody, cancellationToken).ConfigureAwait(false);
        await BackgroundFetchManager.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }
}
