using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BgFetchCluster.Node.Api;

/// <summary><c>matchAll</c>, <c>match</c> and <c>responseReady</c> (docs/api.md, "BackgroundFetchRecord").</summary>
public static class RecordsApi
{
    private static readonly TimeSpan DefaultBodyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBodyTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Maps the record endpoints under a registration group.</summary>
    public static RouteGroupBuilder MapRecordsApi(this RouteGroupBuilder group, string namePrefix = "")
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/{id}/records", MatchAllAsync).WithName(namePrefix + "MatchAll")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{id}/records/match", MatchAsync).WithName(namePrefix + "Match")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        // Waits up to ?timeout= and then streams the body, however long: bounded in its own steps instead of the request timeout.
        // The stored body goes out with the response's own Content-Type; octet-stream stands for "any bytes".
        group.MapGet("/{id}/records/{index:int}/body", BodyAsync).WithName(namePrefix + "ResponseReady")
            .Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream")
            .Produces<Stream>(StatusCodes.Status206PartialContent, "application/octet-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .DisableRequestTimeout();
        return group;
    }

    private static async Task<Results<Ok<RecordsBody>, ProblemHttpResult>> MatchAllAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var (records, problem) = await QueryAsync(routeId.Value, http, host, cancellationToken);
        return problem ?? (Results<Ok<RecordsBody>, ProblemHttpResult>)TypedResults.Ok(new RecordsBody(records!));
    }

    private static async Task<Results<Ok<RecordBody>, ProblemHttpResult>> MatchAsync(
        RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var (records, problem) = await QueryAsync(routeId.Value, http, host, cancellationToken);
        return problem ?? (Results<Ok<RecordBody>, ProblemHttpResult>)TypedResults.Ok(new RecordBody(records!.FirstOrDefault()));
    }

    private static async Task<(IReadOnlyList<RecordView>? Records, ProblemHttpResult? Problem)> QueryAsync(
        string id, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var reply = await node.Service.GetRecordsAsync(Scopes.Of(http), id, cancellationToken);
        if (reply is null)
        {
            return (null, Problems.NotFound(id));
        }

        if (!reply.Registration.RecordsAvailable)
        {
            return (null, Problems.Of(409, "InvalidStateError", $"The records of '{id}' are no longer available."));
        }

        var query = http.Request.Query;
        var recordQuery = new RecordQuery(
            query["url"].FirstOrDefault(),
            query["method"].FirstOrDefault() ?? "GET",
            Flag(query["ignoreSearch"]),
            Flag(query["ignoreMethod"]),
            Flag(query["ignoreVary"]));
        try
        {
            var matched = RecordMatcher.MatchAll(reply.Records, recordQuery, reply.Definition.BaseUrl);
            return ([.. matched.Select(record => Scopes.Readdress(http, record))], null);
        }
        catch (RegistrationRejectedException rejected)
        {
            return (null, Problems.Of(rejected.Status, rejected.Name, rejected.Message));
        }
    }

    private static async Task<IResult> BodyAsync(
        RouteId routeId, int index, HttpContext http, FetchNodeHost host, FetchNodeOptions options, CancellationToken cancellationToken)
    {
        var timeout = DefaultBodyTimeout;
        if (http.Request.Query["timeout"].FirstOrDefault() is { } text)
        {
            if (!double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || double.IsNaN(seconds))
            {
                return Problems.TypeError("'timeout' must be a non-negative number of seconds.");
            }

            timeout = TimeSpan.FromSeconds(Math.Min(seconds, MaxBodyTimeout.TotalSeconds));
        }

        var node = await host.Node;
        (RecordReady Ready, string EntityId)? awaited;
        try
        {
            awaited = await node.Service.AwaitRecordAsync(Scopes.Of(http), routeId.Value, index, timeout, cancellationToken);
        }
        catch (Exception exception) when (exception is TimeoutException or Akka.Actor.AskTimeoutException)
        {
            return Problems.Of(504, "TimeoutError", $"Record {index} of '{routeId}' did not settle within {timeout.TotalSeconds} seconds.");
        }

        if (awaited is not { } found)
        {
            return Problems.NotFound(routeId.Value);
        }

        var record = found.Ready.Record;
        if (!found.Ready.RecordsAvailable)
        {
            return Problems.Of(409, "InvalidStateError", $"The records of '{routeId}' are no longer available.");
        }

        if (record.Response is not { } response)
        {
            return record.State == RecordState.Aborted
                ? Problems.Of(409, "AbortError", $"Record {index} of '{routeId}' was aborted.")
                : Problems.Of(409, "TypeError", $"Record {index} of '{routeId}' failed without a response ({record.State}).");
        }

        if (record.State == RecordState.Aborted)
        {
            return Problems.Of(409, "AbortError", $"Record {index} of '{routeId}' was aborted.");
        }

        // Opening the body (and its first bytes, below) waits for the store at most BgFetch:Http:RequestTimeout.
        using var storeWait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        storeWait.CancelAfter(options.RequestTimeout);
        try
        {
            return await ServeAsync(routeId, index, http, node, found.Ready, found.EntityId, response, storeWait.Token);
        }
        catch (OperationCanceledException) when (storeWait.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Problems.Unavailable(http, $"The body store did not answer within {options.RequestTimeout.TotalSeconds} s; nothing was changed.", Problems.UnavailableReason.Timeout);
        }
    }

    private static async Task<IResult> ServeAsync(
        RouteId routeId, int index, HttpContext http, RunningNode node, RecordReady ready, string entityId, ResponseView response, CancellationToken cancellationToken)
    {
        var record = ready.Record;
        var body = ready.InlineBody is { } inline
            ? new StoredBody(new MemoryStream(inline, writable: false))
            : await node.Store.OpenReadAsync(entityId, index, cancellationToken);
        if (body is null && await node.Service.GetAsync(Scopes.Of(http), routeId.Value, cancellationToken) is null)
        {
            // Released between the record's answer and the read: the registration is gone, as docs/api.md's release says.
            return Problems.NotFound(routeId.Value);
        }

        if (body is null)
        {
            // A record stopped by a limit (quota, downloadTotal) keeps no partial body when it was small enough to be
            // held in memory: it failed, so it reads as a failure; a success or bad-status body that is gone is lost state.
            return record.State is RecordState.Success or RecordState.BadStatus
                ? Problems.Of(409, "InvalidStateError", $"The body of record {index} of '{routeId}' is no longer stored.")
                : Problems.Of(409, "TypeError", $"Record {index} of '{routeId}' failed ({record.State}) and kept no body.");
        }

        http.Response.RegisterForDisposeAsync(body);
        if (body.Length > 0)
        {
            // The first bytes are fetched before the status line goes out, so that a body deleted by a release racing
            // this read answers a clean 404 (ResponseStoreFailure.Deleted, Problems.StatusFor) rather than a broken 200.
            // A release later in the stream can only cut the response short: the client sees fewer bytes than
            // Content-Length, never other bytes.
            _ = await body.Content.ReadAsync(new byte[1], cancellationToken);
            body.Content.Position = 0;
        }

        http.Response.Headers["X-BgFetch-Status"] = response.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var contentType = response.Headers.GetValueOrDefault("content-type") ?? "application/octet-stream";
        return TypedResults.Stream(new ReleasableBodyStream(body.Content, http), contentType, enableRangeProcessing: true);
    }

    private static bool Flag(Microsoft.Extensions.Primitives.StringValues value) =>
        value.FirstOrDefault() is { } text && (text.Length == 0 || bool.TryParse(text, out var flag) && flag || text == "1");
}
