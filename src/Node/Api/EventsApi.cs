using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Api;

/// <summary>
/// The registration's event stream (docs/api.md, "Events"): progress, then exactly one terminal event. With
/// <c>?untilReleased=true</c> the stream also says when <c>updateUI()</c> changed the title or icons (<c>updateui</c>),
/// stays open after the terminal event, and ends with <c>recordsreleased</c> (<c>recordsAvailable</c> false) once the
/// records are released, by whoever releases them (a client, the admin, or the retention).
/// </summary>
public static class EventsApi
{
    /// <summary>Maps <c>GET /v1/registrations/{id}/events</c>.</summary>
    public static RouteGroupBuilder MapEventsApi(this RouteGroupBuilder group, string namePrefix = "")
    {
        ArgumentNullException.ThrowIfNull(group);
        // A stream lives as long as its registration: never cut by the API's request timeout.
        group.MapGet("/{id}/events", EventsAsync).WithName(namePrefix + "Events")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .DisableRequestTimeout();
        return group;
    }

    /// <summary>The event type of <c>updateUI()</c>'s notice (with <c>?untilReleased=true</c>).</summary>
    public const string UpdateUiEvent = "updateui";

    /// <summary>The event type of the release notice, the last of a stream with <c>?untilReleased=true</c>.</summary>
    public const string RecordsReleasedEvent = "recordsreleased";

    private static async Task<IResult> EventsAsync(
        RouteId routeId, bool? untilReleased, HttpContext http, FetchNodeHost host, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var follow = untilReleased == true;
        var progress = await node.Service.SubscribeAsync(Scopes.Of(http), routeId.Value, follow, cancellationToken);
        return progress is null
            ? Problems.NotFound(routeId.Value)
            : TypedResults.ServerSentEvents(ToEvents(progress, follow, lifetime.ApplicationStopping, cancellationToken));
    }

    /// <remarks>
    /// A node that stops ends its streams (a stream may wait days for a release, and graceful shutdown waits for open
    /// requests): the client reconnects to another node while the registration is active, and stops following after.
    /// </remarks>
    private static async IAsyncEnumerable<SseItem<string>> ToEvents(
        IAsyncEnumerable<RegistrationProgress> progress,
        bool untilReleased,
        CancellationToken stopping,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        RegistrationView? last = null;
        await using var items = progress.GetAsyncEnumerator(linked.Token);
        while (true)
        {
            try
            {
                if (!await items.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            var item = items.Current;
            var json = JsonSerializer.Serialize(item.Registration, ApiJsonContext.Default.RegistrationView);
            if (item.Released)
            {
                yield return new SseItem<string>(json, RecordsReleasedEvent);
                yield break;
            }

            if (item.UiUpdated)
            {
                yield return new SseItem<string>(json, UpdateUiEvent);
                continue;
            }

            if (item.Settled)
            {
                yield return new SseItem<string>(json, NotificationBody.EventTypeFor(item.Registration));
                if (!untilReleased)
                {
                    yield break;
                }

                continue;
            }

            // Only changes of uploaded, downloaded, result or failureReason are progress (docs/api.md).
            if (last is null || last.Uploaded != item.Registration.Uploaded || last.Downloaded != item.Registration.Downloaded
                || last.Result != item.Registration.Result || last.FailureReason != item.Registration.FailureReason)
            {
                last = item.Registration;
                yield return new SseItem<string>(json, "progress");
            }
        }
    }
}
