using Akka.Actor;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>The batching counters, for metrics and for tests that check writes and reads really share round trips.</summary>
public sealed partial class BgFetchJournal
{
    /// <inheritdoc />
    protected override bool ReceivePluginInternal(object message)
    {
        if (message is not GetBatchingStats)
        {
            return false;
        }

        var batching = _batching;
        Sender.Tell(batching is null
            ? new BatchingStats(0, 0, 0, 0, 0)
            : new BatchingStats(batching.RoundTrips, batching.Writes, batching.Events, batching.ReadRoundTrips, batching.Reads));
        return true;
    }
}

/// <summary>Asks a <see cref="BgFetchJournal"/> (the actor <c>JournalFor</c> returns) for its <see cref="BatchingStats"/>.</summary>
public sealed class GetBatchingStats : INoSerializationVerificationNeeded
{
    /// <summary>The one instance.</summary>
    public static GetBatchingStats Instance { get; } = new();

    private GetBatchingStats()
    {
    }
}

/// <summary>What the journal has stored since it started, and in how many transactions.</summary>
/// <param name="RoundTrips">Transactions sent to the database (a failed batch retried write by write counts each retry).</param>
/// <param name="Writes">Atomic writes stored (one per persisting actor and call).</param>
/// <param name="Events">Events stored.</param>
/// <param name="ReadRoundTrips">Highest-sequence-number queries sent to the database (one per batch of recoveries).</param>
/// <param name="Reads">Highest-sequence-number reads answered (one per recovery).</param>
public sealed record BatchingStats(long RoundTrips, long Writes, long Events, long ReadRoundTrips, long Reads)
    : INoSerializationVerificationNeeded;
