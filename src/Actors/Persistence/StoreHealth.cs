namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// What one node knows of its stores' reachability, shared by the <see cref="StoreResilience"/> of every store (journal,
/// snapshots, bodies) and the readiness probe: unavailable from the first transient error any of them meets until the next
/// operation that succeeds. The HTTP API reads it to answer creations 503 at once during a known outage (docs/api.md,
/// "Errors any call may answer") instead of letting each wait <c>BgFetch:Http:RequestTimeout</c>.
/// </summary>
/// <remarks>
/// It only says "suspect": nothing may touch a store for a while after an outage (an idle node), so whoever acts on
/// <see cref="IsUnavailable"/> confirms it with a probe first (<see cref="Fetch.FetchNode.KnownStoreOutageAsync"/>), and a
/// probe that succeeds clears it.
/// </remarks>
public sealed class StoreHealth
{
    private volatile Outage? _outage;

    /// <summary>True from a transient error of any store until the next success.</summary>
    public bool IsUnavailable => _outage is not null;

    /// <summary>The store whose transient error began the current outage, and that error; null when none is known.</summary>
    public string? Reason => _outage is { } outage ? $"the {outage.Store} store: {outage.Error}" : null;

    /// <summary>A store met a transient error: the node suspects an outage until the next success.</summary>
    public void ReportFailure(string store, string error)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (_outage is null)
        {
            _outage = new Outage(store, error ?? "no error");
        }
    }

    /// <summary>An operation of a store (or the readiness probe) succeeded: the store is reachable.</summary>
    public void ReportSuccess()
    {
        if (_outage is not null)
        {
            _outage = null;
        }
    }

    private sealed record Outage(string Store, string Error);
}
