namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// A creation whose reservation the scope's index could not make durable (its journal write failed or was refused, as
/// it is for the stale index of a node that was cut off from its cluster). Nothing was created: the HTTP API answers
/// 503 <c>UnavailableError</c>, and the caller may try again.
/// </summary>
public sealed class ReservationLostException(string id)
    : Exception($"The scope index could not store the reservation of '{id}' (its journal write failed); nothing was created. Try again.")
{
    /// <summary>The registration id whose creation was lost.</summary>
    public string Id { get; } = id;
}
