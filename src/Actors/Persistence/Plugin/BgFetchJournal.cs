using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using BgFetchCluster.Actors.Fetch;
using AkkaAtomicWrite = Akka.Persistence.AtomicWrite;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>
/// The Akka.Persistence journal plugin on the project's batching writers (docs/architecture.md "Persistence"):
/// one <see cref="IJournal"/> on SQLite or PostgreSQL behind one <see cref="BatchingJournal"/>, so the
/// writes of many persistent actors share one transaction per round trip. Configured by the HOCON
/// section <see cref="BgFetchPersistence.JournalPluginId"/>; see <see cref="BgFetchPersistence"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why batching works under Akka: <see cref="AsyncWriteJournal"/> handles a <c>WriteMessages</c>
/// request by calling <see cref="WriteMessagesAsync"/> inside its receive and only attaching a
/// continuation to the returned task; it does not await it before taking the next request (a
/// resequencer actor puts the replies back in request order). So while one actor's write waits for
/// the database, the writes of other actors arrive, and they all queue in the
/// <see cref="BatchingJournal"/> channel for the next round trip. This method must therefore never
/// await one write before submitting the next.
/// </para>
/// <para>
/// Event adapters' manifests (<c>IPersistentRepresentation.Manifest</c>) are not stored: replayed events
/// carry an empty one. The product uses no event adapters; the serializer manifest is stored.
/// </para>
/// </remarks>
public sealed partial class BgFetchJournal : AsyncWriteJournal
{
    private readonly PluginSettings _settings;
    private readonly ExtendedActorSystem _system;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // The actor system's clock (a test scheduler in tests), read off the actor thread too: it is thread-safe.
    private readonly ITimeProvider _clock = Context.System.Scheduler;

    // The newest unfinished write of each persistence id. A restarting actor may ask for its highest
    // sequence number while its previous incarnation's writes are still in flight; answering before
    // they land would hand out sequence numbers that are about to be taken.
    private readonly ConcurrentDictionary<string, Task> _writesInFlight = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private IJournal? _journal;
    private IAsyncDisposable? _owned;
    private BatchingJournal? _batching;
    private Task? _initialized;

    /// <summary>Creates the journal from its HOCON section (Akka passes the plugin's own config).</summary>
    public BgFetchJournal(Config config)
    {
        _settings = PluginSettings.FromConfig(config);
        _system = (ExtendedActorSystem)Context.System;
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        (_journal, _owned) = _settings.CreateJournal();

        // A test's decorator (never configuration) may hold or fail writes over the real store.
        _journal = JournalDecorator.Apply(_system, _journal);

        // Transient store errors are waited out for the outage tolerance (issue 19) before a write or a recovery fails.
        _journal = new ResilientJournal(
            _journal,
            new StoreResilience(
                "journal", _settings.OutageTolerance, PluginLogging.For(_system, "BgFetchCluster.Persistence"), health: PluginHealth.For(_system)));
        _batching = new BatchingJournal(_journal, _settings.MaxBatchSize, linger: _settings.Linger);

        // Started now, awaited by every call: the migration is idempotent, and recovery requests that
        // arrive first simply wait for it instead of failing.
        _ = ReadyAsync();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // PostStop cannot await. Disposing the batching journal still completes every accepted write
        // before the connections close, so nothing acknowledged is lost by not waiting here.
        var batching = _batching;
        var journal = _journal;
        var owned = _owned;
        var log = _log;
        _ = Task.Run(async () =>
        {
            try
            {
                if (batching is not null)
                {
                    await batching.DisposeAsync().ConfigureAwait(false);
                }

                if (journal is not null)
                {
                    await journal.DisposeAsync().ConfigureAwait(false);
                }

                if (owned is not null)
                {
                    await owned.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception exception)
            {
                log.Warning(exception, "The BgFetch journal's store did not close cleanly.");
            }
        });
        base.PostStop();
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(
        IEnumerable<AkkaAtomicWrite> messages,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var batching = await ReadyAsync().ConfigureAwait(false);
        var requests = messages as IReadOnlyList<AkkaAtomicWrite> ?? [.. messages];
        Exception[]? rejections = null;
        List<List<PersistentRepresentation>> writes = [];
        var now = _clock.Now;
        for (var i = 0; i < requests.Count; i++)
        {
            List<PersistentRepresentation> rows;
            try
            {
                rows = ToRows(requests[i], now);
            }
            catch (Exception exception)
            {
                // A payload that cannot be serialized is rejected: only its write fails, and the actor
                // goes on (Akka's WriteMessageRejected). Nothing of that atomic write is stored.
                (rejections ??= new Exception[requests.Count])[i] = exception;
                continue;
            }

            // One request comes from one actor. Its atomic writes are stored all or nothing together,
            // because a failure of this call is reported to the actor as the failure of every write in
            // it: storing some of them would leave events in the journal the actor was told are not.
            if (writes.Count > 0 && writes[^1][0].PersistenceId == rows[0].PersistenceId)
            {
                writes[^1].AddRange(rows);
            }
            else
            {
                writes.Add(rows);
            }
        }

        var started = Stopwatch.GetTimestamp();
        var submitted = new Task[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            submitted[i] = Submit(batching, new AtomicWrite(writes[i]), cancellationToken);
        }

        // A storage failure or a JournalConcurrencyException faults the call: Akka then stops the actor
        // (persist failure). Other actors' writes in the same batch are unaffected: BatchingJournal
        // retries a failed batch write by write.
        await Task.WhenAll(submitted).ConfigureAwait(false);
        FetchMetrics.JournalWriteLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return rejections is null ? null! : ImmutableArray.Create(rejections);
    }

    private Task Submit(BatchingJournal batching, AtomicWrite write, CancellationToken cancellationToken)
    {
        var task = batching.WriteAsync(write, cancellationToken);
        var persistenceId = write.PersistenceId;
        _writesInFlight[persistenceId] = task;
        _ = task.ContinueWith(
            static (finished, state) =>
            {
                var (inFlight, persistenceId) = ((ConcurrentDictionary<string, Task>, string))state!;
                inFlight.TryRemove(new KeyValuePair<string, Task>(persistenceId, finished));
            },
            (_writesInFlight, persistenceId),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return task;
    }

    private List<PersistentRepresentation> ToRows(AkkaAtomicWrite write, DateTimeOffset now)
    {
        var events = (IImmutableList<IPersistentRepresentation>)write.Payload;
        var rows = new List<PersistentRepresentation>(events.Count);
        foreach (var @event in events)
        {
            var (serializerId, manifest, bytes) = AkkaPayloads.Serialize(_system, @event.Payload);
            var created = @event.Timestamp > 0 ? new DateTimeOffset(@event.Timestamp, TimeSpan.Zero) : now;
            rows.Add(new PersistentRepresentation(
                @event.PersistenceId,
                @event.SequenceNr,
                serializerId,
                manifest,
                bytes,
                @event.WriterGuid ?? string.Empty,
                created));
        }

        return rows;
    }

    /// <summary>The batching journal once the schema is migrated; a failed migration is retried by the next call.</summary>
    private Task<BatchingJournal> ReadyAsync()
    {
        var journal = _journal ?? throw new InvalidOperationException("The BgFetch journal has not started.");
        var batching = _batching!;
        Task initialized;
        lock (_gate)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = journal.InitializeAsync();
            }

            initialized = _initialized;
        }

        return initialized.IsCompletedSuccessfully ? Task.FromResult(batching) : AwaitAsync(initialized, batching);

        static async Task<BatchingJournal> AwaitAsync(Task initialized, BatchingJournal batching)
        {
            await initialized.ConfigureAwait(false);
            return batching;
        }
    }
}
