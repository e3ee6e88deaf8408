using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;
using Akka.Persistence.Sql.Snapshot;
using Akka.Configuration;
using AkkaAtomicWrite = Akka.Persistence.AtomicWrite;
using AkkaSelectedSnapshot = Akka.Persistence.SelectedSnapshot;
using AkkaSnapshotMetadata = Akka.Persistence.SnapshotMetadata;
using AkkaSnapshotSelectionCriteria = Akka.Persistence.SnapshotSelectionCriteria;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// Akka.Persistence.Sql's journal (<c>BgFetch:Storage:Journal=AkkaSql</c>) with the product's retries of transient store
/// errors (<see cref="StoreResilience"/>, issue 19): a database that is away, restarting or out of connections is waited out
/// for the plugin section's <c>outage-tolerance</c> instead of failing the persistent actors that write or recover through
/// it, as <see cref="ResilientJournal"/> does for the product's own plugin. A subclass, because Akka.Persistence.Sql has no
/// hook for a retry policy of its own (its DAO runs each call once).
/// </summary>
/// <remarks>
/// A write is retried whole: either it was not stored and is stored now, or its acknowledgement was lost with the connection
/// and the journal's key refuses the copy, so the actor stops and recovers what is stored, as after any failed persist. A
/// replay is retried only while it has delivered nothing (a second pass would deliver events twice); one that fails midway
/// fails the recovery, and the entity is started again by sharding.
/// </remarks>
public sealed class ResilientSqlJournal : SqlWriteJournal
{
    private readonly StoreResilience _resilience;

    /// <summary>Created by Akka from the plugin's HOCON section (<c>outage-tolerance</c> beside Akka.Persistence.Sql's keys).</summary>
    public ResilientSqlJournal(Config journalConfig)
        : base(journalConfig)
    {
        _resilience = new StoreResilience(
            "journal",
            ResilientSql.OutageTolerance(journalConfig),
            PluginLogging.For(Context.System, "BgFetchCluster.Persistence"),
            health: PluginHealth.For(Context.System));
    }

    /// <inheritdoc />
    /// <remarks>
    /// The base journal's write reads <c>Self</c>, so it must run on the actor's thread: the first attempt does (Akka calls
    /// this from the receive), and each retry is sent to the actor as a <see cref="RetryWrite"/> and run there.
    /// </remarks>
    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AkkaAtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Materialized once: each attempt hands the same writes to the base journal.
        var writes = messages.ToList();
        var self = Self;
        var first = true;
        return _resilience.ExecuteAsync(
            token =>
            {
                if (first)
                {
                    first = false;
                    return new ValueTask<IImmutableList<Exception>>(base.WriteMessagesAsync(writes, token));
                }

                var retry = new RetryWrite(writes, token);
                self.Tell(retry, ActorRefs.NoSender);
                return new ValueTask<IImmutableList<Exception>>(retry.Result.Task);
            },
            cancellationToken).AsTask();
    }

    /// <inheritdoc />
    protected override bool ReceivePluginInternal(object message)
    {
        if (message is not RetryWrite retry)
        {
            return base.ReceivePluginInternal(message);
        }

        Task<IImmutableList<Exception>> attempt;
        try
        {
            attempt = base.WriteMessagesAsync(retry.Writes, retry.CancellationToken);
        }
        catch (Exception exception)
        {
            retry.Result.TrySetException(exception);
            return true;
        }

        _ = attempt.ContinueWith(
            static (task, state) =>
            {
                var result = ((RetryWrite)state!).Result;
                if (task.IsCanceled)
                {
                    result.TrySetCanceled();
                }
                else if (task.Exception is { } failed)
                {
                    result.TrySetException(failed.InnerExceptions);
                }
                else
                {
                    result.TrySetResult(task.Result);
                }
            },
            retry,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return true;
    }

    /// <summary>A retry of a write, run on the actor's thread; node-local, never serialized.</summary>
    private sealed class RetryWrite(IReadOnlyList<AkkaAtomicWrite> writes, CancellationToken cancellationToken) : INoSerializationVerificationNeeded
    {
        public IEnumerable<AkkaAtomicWrite> Writes { get; } = writes;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource<IImmutableList<Exception>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <inheritdoc />
    public override Task ReplayMessagesAsync(
        IActorContext context,
        string persistenceId,
        long fromSequenceNr,
        long toSequenceNr,
        long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        ArgumentNullException.ThrowIfNull(recoveryCallback);
        var delivered = 0L;
        return _resilience.ExecuteAsync(
            async _ =>
            {
                try
                {
                    await base.ReplayMessagesAsync(
                        context,
                        persistenceId,
                        fromSequenceNr,
                        toSequenceNr,
                        max,
                        representation =>
                        {
                            Interlocked.Increment(ref delivered);
                            recoveryCallback(representation);
                        }).ConfigureAwait(false);
                }
                catch (Exception exception) when (Interlocked.Read(ref delivered) > 0)
                {
                    // Not retryable: events were delivered, and a second pass would deliver them again.
                    throw new InvalidOperationException(
                        $"The replay of '{persistenceId}' failed after {Interlocked.Read(ref delivered)} event(s); recovery starts again.", exception);
                }
            }).AsTask();
    }

    /// <inheritdoc />
    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(token => new ValueTask<long>(base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(token => new ValueTask(base.DeleteMessagesToAsync(persistenceId, toSequenceNr, token)), cancellationToken).AsTask();
}

/// <summary>Akka.Persistence.Sql's snapshot store with the product's retries; see <see cref="ResilientSqlJournal"/>.</summary>
public sealed class ResilientSqlSnapshotStore : SqlSnapshotStore
{
    private readonly StoreResilience _resilience;

    /// <summary>Created by Akka from the plugin's HOCON section.</summary>
    public ResilientSqlSnapshotStore(Config snapshotConfig)
        : base(snapshotConfig)
    {
        _resilience = new StoreResilience(
            "snapshot",
            ResilientSql.OutageTolerance(snapshotConfig),
            PluginLogging.For(Context.System, "BgFetchCluster.Persistence"),
            health: PluginHealth.For(Context.System));
    }

    /// <inheritdoc />
    protected override Task<AkkaSelectedSnapshot?> LoadAsync(string persistenceId, AkkaSnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(token => new ValueTask<AkkaSelectedSnapshot?>(base.LoadAsync(persistenceId, criteria, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    protected override Task SaveAsync(AkkaSnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(token => new ValueTask(base.SaveAsync(metadata, snapshot, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    protected override Task DeleteAsync(AkkaSnapshotMetadata metadata, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(token => new ValueTask(base.DeleteAsync(metadata, token)), cancellationToken).AsTask();

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, AkkaSnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(token => new ValueTask(base.DeleteAsync(persistenceId, criteria, token)), cancellationToken).AsTask();
}

/// <summary>The <c>outage-tolerance</c> key of the Akka.Persistence.Sql sections, as the product's own plugins read it.</summary>
internal static class ResilientSql
{
    public static TimeSpan OutageTolerance(Config config)
    {
        var tolerance = config.GetTimeSpan("outage-tolerance", BgFetchPersistence.DefaultOutageTolerance, allowInfinite: false);
        if (tolerance < TimeSpan.Zero)
        {
            throw new ConfigurationException($"'outage-tolerance' must not be negative, not {tolerance}.");
        }

        return tolerance;
    }
}
