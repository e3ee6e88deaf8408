using Akka.Actor;
using Akka.Persistence;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>Recovery and deletion: replay, the highest sequence number, delete-to.</summary>
public sealed partial class BgFetchJournal
{
    /// <inheritdoc />
    public override async Task ReplayMessagesAsync(
        IActorContext context,
        string persistenceId,
        long fromSequenceNr,
        long toSequenceNr,
        long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        ArgumentNullException.ThrowIfNull(recoveryCallback);
        var batching = await ReadyAsync().ConfigureAwait(false);
        await foreach (var row in batching.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max).ConfigureAwait(false))
        {
            var payload = AkkaPayloads.Deserialize(_system, row.SerializerId, row.Manifest, row.Payload);
            recoveryCallback(new Persistent(
                payload,
                row.SequenceNr,
                row.PersistenceId,
                manifest: string.Empty,
                isDeleted: false,
                sender: ActorRefs.NoSender,
                writerGuid: row.WriterUuid,
                timestamp: row.Created.UtcTicks));
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Deleted events count: the highest row survives every delete, so a number is never reused. Akka asks this before
    /// every recovery, so the read is batched with the other recoveries' reads (one query per round trip); it joins a
    /// batch only after this persistence id's write in flight, if any, has finished.
    /// </remarks>
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        var batching = await ReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_writesInFlight.TryGetValue(persistenceId, out var inFlight))
        {
            // Only that the write has finished matters here, not whether it succeeded.
            await inFlight.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return await batching.ReadHighestSequenceNrAsync(persistenceId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The highest row is kept, marked deleted, so its sequence number is never written again.</remarks>
    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        var batching = await ReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        await batching.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken).ConfigureAwait(false);
    }
}
