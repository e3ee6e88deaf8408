using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Actors.Persistence;
using Akka.Actor;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// The download (or upload) of one record, from its checkpoint to its outcome. Runs on the thread
/// pool; everything it learns goes to the registration as messages.
/// </summary>
internal static partial class RecordDownload
{
    private const int BufferSize = 256 * 1024;
    private const long ProgressEveryBytes = 256 * 1024;

    public static async Task RunAsync(RecordWork work, FetchEnvironment environment, IActorRef registration, CancellationToken cancellationToken)
    {
        IDisposable? recordLock = null;
        FetchScheduler.Lease turn = default;
        try
        {
            recordLock = await environment.RecordLocks.AcquireAsync(work.RegistrationKey, work.Index, cancellationToken).ConfigureAwait(false);
            turn = await environment.Scheduler.AcquireAsync(work.RegistrationKey, FetchScheduler.OriginOf(work.Request.Url), cancellationToken).ConfigureAwait(false);
            using var active = FetchMetrics.StartDownload();
            var outcome = await FetchAsync(work, environment, registration, cancellationToken).ConfigureAwait(false);
            registration.Tell(outcome, ActorRefs.NoSender);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled by the registration (it settled, or stopped: passivation, hand-off, shutdown): it already knows.
        }
        catch (RecordDrainedException)
        {
            // Checkpointed for a hand-off: the registration stops once that checkpoint is journaled.
        }
        catch (ResponseStoreException exception) when (exception.Failure == ResponseStoreFailure.Superseded)
        {
            // A newer writer owns the record: this copy is a zombie (paused or cut off while the cluster moved its
            // registration). Settling the record as fetch-error here would journal a failure that the new owner's
            // history does not have, so it reports nothing and waits for its node to stop.
            LogSuperseded(environment.Log, work.RegistrationKey, work.Index);
        }
        catch (Exception exception)
        {
            registration.Tell(new RecordOutcome(work.Index, RecordState.FetchError, 0, null, exception.Message), ActorRefs.NoSender);
        }
        finally
        {
            turn.Dispose();
            recordLock?.Dispose();
        }
    }

    private static async Task<RecordOutcome> FetchAsync(RecordWork work, FetchEnvironment environment, IActorRef registration, CancellationToken cancellationToken)
    {
        var options = environment.Fetcher.Options;
        var request = work.Request;
        var isGet = string.Equals(request.Method, "GET", StringComparison.Ordinal);
        var maxAttempts = isGet ? Math.Max(1, options.MaxAttempts) : 1;
        var state = new ResumeState(work);
        IResponseBodyWriter? writer = null;
        var pauses = 0;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var activity = FetchMetrics.ActivitySource.StartActivity("bgfetch.fetch_attempt")?.SetTag("bgfetch.record", work.Index).SetTag("bgfetch.attempt", attempt);
                    return await AttemptAsync(work, environment, registration, state, attempt < maxAttempts, w => writer = w, () => writer, cancellationToken).ConfigureAwait(false);
                }
                catch (ResponseStoreException missing) when (missing.Failure == ResponseStoreFailure.MissingPrefix && !state.PrefixLost)
                {
                    // The checkpoint promised bytes the store no longer holds (a body lost or cut after a failover, a
                    // restored backup): start the record again from byte 0. A lost prefix costs a download, never the
                    // registration; it does not count as an attempt, and happens at most once per run.
                    LogPrefixLost(environment.Log, work.RegistrationKey, work.Index, state.StoredBytes, missing.Message);
                    state.ForgetPrefix();
                    attempt--;
                }
                catch (Exception exception) when (StoreErrors.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
                {
                    // The store stayed away for longer than its outage tolerance: pause, never fail (issue 19). The
                    // writer is given up (the store may have half of its last write), the origin's connection goes with
                    // the attempt, and the next attempt reopens the body at the last flushed length and asks the origin
                    // for the rest with Range. Pauses do not count as attempts.
                    writer = await DropWriterAsync(writer).ConfigureAwait(false);
                    var pause = PauseDelay(++pauses);
                    LogPaused(environment.Log, work.RegistrationKey, work.Index, state.StoredBytes, Describe(exception), pause);
                    await Task.Delay(pause, environment.TimeProvider, cancellationToken).ConfigureAwait(false);
                    attempt--;
                }
                catch (Exception exception) when (IsTransient(exception, cancellationToken) && attempt < maxAttempts)
                {
                    if (writer is not null && writer.Length > 0)
                    {
                        try
                        {
                            // Make what we have durable before waiting: a crash during the backoff resumes here.
                            await writer.FlushToDiskAsync(cancellationToken).ConfigureAwait(false);
                            state.StoredBytes = writer.Length;
                            registration.Tell(new RecordCheckpoint(work.Index, writer.Length, state.Uploaded), ActorRefs.NoSender);
                        }
                        catch (Exception flush) when (StoreErrors.IsUnavailable(flush))
                        {
                            // The store is away too: the next attempt reopens at the last checkpoint instead.
                            writer = await DropWriterAsync(writer).ConfigureAwait(false);
                        }
                    }

                    FetchMetrics.Retries.Add(1);
                    var delay = RetryDelay(options, attempt, (exception as RetryableStatusException)?.RetryAfter);
                    LogRetrying(environment.Log, work.RegistrationKey, work.Index, attempt, Describe(exception), delay);
                    await Task.Delay(delay, environment.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not RecordDrainedException
                    && exception is not ResponseStoreException { Failure: ResponseStoreFailure.Superseded }
                    && (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
                {
                    var stored = writer?.Length ?? state.StoredBytes;
                    var reason = Describe(exception);
                    LogFailed(environment.Log, work.RegistrationKey, work.Index, attempt, reason);
                    // What arrived before the failure stays readable, as a stored partial body would.
                    var inline = stored > 0 ? (writer as InlineBodyWriter)?.CopyInlineBody() : null;
                    return new RecordOutcome(work.Index, RecordState.FetchError, stored, null, reason, inline);
                }
            }
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<RecordOutcome> AttemptAsync(
        RecordWork work,
        FetchEnvironment environment,
        IActorRef registration,
        ResumeState state,
        bool canRetry,
        Action<IResponseBodyWriter> setWriter,
        Func<IResponseBodyWriter?> getWriter,
        CancellationToken cancellationToken)
    {
        var options = environment.Fetcher.Options;
        var ranged = state.HasResponse && state.StoredBytes > 0;
        using var message = BuildRequest(work.Request, ranged ? state : null);
        using var response = await environment.Fetcher.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        state.Uploaded = work.Request.BodyLength;
        FetchMetrics.BytesUploaded.Add(work.Request.BodyLength);
        long? expectedEnd;
        var writer = getWriter();

        if (ranged && status == (int)HttpStatusCode.PartialContent)
        {
            ValidatePartial(response, state);
            writer ??= await OpenAsync(environment, work, state.StoredBytes, setWriter, inline: false, cancellationToken).ConfigureAwait(false);
            expectedEnd = state.TotalLength ?? response.Content.Headers.ContentRange?.Length;
        }
        else if (ranged && status == (int)HttpStatusCode.RequestedRangeNotSatisfiable
            && response.Content.Headers.ContentRange?.Length == state.StoredBytes)
        {
            // The stored body is already complete (a crash came after the last byte, before the outcome).
            writer ??= await OpenAsync(environment, work, state.StoredBytes, setWriter, inline: false, cancellationToken).ConfigureAwait(false);
            var digest = await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return new RecordOutcome(work.Index, IsOk(state.Status) ? RecordState.Success : RecordState.BadStatus, writer.Length, digest, null);
        }
        else
        {
            // Only GET retries; on the last attempt the 429/503 is kept as a bad-status response, body and all.
            if (status is 429 or 503 && canRetry)
            {
                throw new RetryableStatusException(status, RetryAfter(response, environment.TimeProvider));
            }

            // A fresh response: the first one, or the origin ignored our Range and sent the whole body.
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }

            // Inline only while no file can hold an earlier version of this body, which the inline one would leave behind.
            var inline = work.StoredBytes == 0 && !work.HasResponse && writer is null or InlineBodyWriter { Spilled: false };
            writer = await OpenAsync(environment, work, 0, setWriter, inline, cancellationToken).ConfigureAwait(false);
            state.Reset(response);
            // Restarted: the journal's checkpoint (and progress) for this record go back to 0, as the bytes do.
            registration.Tell(new RecordResponseStarted(work.Index, ToEvent(work.Index, response), ranged || state.PrefixLost, state.Uploaded), ActorRefs.NoSender);
            expectedEnd = response.Content.Headers.ContentLength;
        }

        await CopyBodyAsync(response, writer, work, registration, state, options, environment.TimeProvider, cancellationToken).ConfigureAwait(false);
        if (expectedEnd is { } end && writer.Length < end)
        {
            throw new IOException($"The body ended after {writer.Length} of {end} bytes.");
        }

        var sha256 = await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        var body = (writer as InlineBodyWriter)?.CopyInlineBody();
        return new RecordOutcome(work.Index, IsOk(state.Status) ? RecordState.Success : RecordState.BadStatus, writer.Length, sha256, null, body);
    }

    private static async Task CopyBodyAsync(
        HttpResponseMessage response,
        IResponseBodyWriter writer,
        RecordWork work,
        IActorRef registration,
        ResumeState state,
        FetchOptions options,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var bodyScope = body.ConfigureAwait(false);
            var lastProgress = writer.Length;
            var lastCheckpoint = writer.Length;
            var lastCheckpointAt = timeProvider.GetTimestamp();
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            while (true)
            {
                if (work.Drain.IsRequested)
                {
                    // Handed off: make everything stored durable and journal it, so the new owner resumes here.
                    await writer.FlushToDiskAsync(cancellationToken).ConfigureAwait(false);
                    state.StoredBytes = writer.Length;
                    registration.Tell(new RecordCheckpoint(work.Index, writer.Length, state.Uploaded), ActorRefs.NoSender);
                    throw new RecordDrainedException();
                }

                idle.CancelAfter(options.IdleTimeout);
                // Large bodies offer their own (aligned, direct-write) memory: reading into it saves a copy per byte.
                var direct = writer.GetAppendBuffer();
                var target = direct.IsEmpty ? buffer.AsMemory(0, BufferSize) : direct;
                int read;
                try
                {
                    read = await body.ReadAsync(target, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"No body bytes for {options.IdleTimeout} after {writer.Length} bytes.");
                }

                if (read == 0)
                {
                    break;
                }

                if (direct.IsEmpty)
                {
                    await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await writer.AdvanceAsync(read, cancellationToken).ConfigureAwait(false);
                }

                FetchMetrics.BytesDownloaded.Add(read);

                if (writer.Length - lastProgress >= ProgressEveryBytes)
                {
                    lastProgress = writer.Length;
                    registration.Tell(new RecordBytes(work.Index, writer.Length), ActorRefs.NoSender);
                }

                if (writer.Length - lastCheckpoint >= options.CheckpointBytes
                    || timeProvider.GetElapsedTime(lastCheckpointAt) >= options.CheckpointInterval)
                {
                    await writer.FlushToDiskAsync(cancellationToken).ConfigureAwait(false);
                    lastCheckpoint = writer.Length;
                    lastCheckpointAt = timeProvider.GetTimestamp();
                    state.StoredBytes = writer.Length;
                    registration.Tell(new RecordCheckpoint(work.Index, writer.Length, state.Uploaded), ActorRefs.NoSender);
                }
            }

            state.StoredBytes = writer.Length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<IResponseBodyWriter> OpenAsync(
        FetchEnvironment environment,
        RecordWork work,
        long offset,
        Action<IResponseBodyWriter> setWriter,
        bool inline,
        CancellationToken cancellationToken)
    {
        var store = environment.Store;
        IResponseBodyWriter writer = inline && work.InlineLimit > 0
            ? new InlineBodyWriter(work.InlineLimit, token => store.OpenWriterAsync(work.RegistrationKey, work.Index, 0, token))
            : await store.OpenWriterAsync(work.RegistrationKey, work.Index, offset, cancellationToken).ConfigureAwait(false);
        setWriter(writer);
        return writer;
    }

    private static HttpRequestMessage BuildRequest(FetchRequest request, ResumeState? resume)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
        // GET and HEAD never have a body; an empty one here was read from a journal written before null bodies were
        // left out of the JSON (see FetchRequest.Body).
        if (request.Body is { } body && (body.Length > 0 || request.Method is not ("GET" or "HEAD")))
        {
            message.Content = new ByteArrayContent(body);
        }

        foreach (var (name, value) in request.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (resume is not null)
        {
            message.Headers.Range = new RangeHeaderValue(resume.StoredBytes, null);

            // If-Range takes a strong ETag or a date; with neither, the 206 is checked by Content-Range alone.
            if (resume.ETag is { } etag && !etag.StartsWith("W/", StringComparison.Ordinal))
            {
                message.Headers.TryAddWithoutValidation("If-Range", etag);
            }
            else if (resume.LastModified is { } lastModified)
            {
                message.Headers.TryAddWithoutValidation("If-Range", lastModified);
            }
        }

        return message;
    }

    private static void ValidatePartial(HttpResponseMessage response, ResumeState state)
    {
        var range = response.Content.Headers.ContentRange;
        if (range?.From != state.StoredBytes)
        {
            throw new InvalidResumeException($"The origin answered a resume at byte {state.StoredBytes} with Content-Range {range?.ToString() ?? "(none)"}.");
        }

        if (state.TotalLength is { } total && range.Length is { } length && length != total)
        {
            throw new InvalidResumeException($"The resource changed length from {total} to {length} bytes between attempts.");
        }

        var etag = response.Headers.ETag?.ToString();
        if (state.ETag is not null && etag is not null && !string.Equals(etag, state.ETag, StringComparison.Ordinal))
        {
            throw new InvalidResumeException($"The resource changed (ETag {state.ETag} became {etag}) between attempts.");
        }
    }

    private static RecordResponseReceived ToEvent(int index, HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name.ToLowerInvariant()] = string.Join(", ", values);
        }

        return new RecordResponseReceived(
            index,
            (int)response.StatusCode,
            response.ReasonPhrase ?? "",
            response.RequestMessage?.RequestUri?.ToString() ?? "",
            headers,
            response.Headers.ETag?.ToString(),
            response.Content.Headers.LastModified?.ToString("R"),
            response.Content.Headers.ContentLength);
    }

    private static bool IsOk(int status) => status is >= 200 and <= 299;
}
