using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Configuration;

namespace BgFetchCluster.Node.Api;

/// <summary>The registration's event stream (API.md, "Events"): progress, then exactly one terminal event.</summary>
public static class EventsApi
{
    /// <summary>Maps <c>GET /v1/registrations/{id}/events</c>.</summary>
    public static RouteGroupBuilder MapEventsApi(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        // A stream lives as long as its registration: never cut by the API's request timeout.
        group.MapGet("/{id}/events", EventsAsync).WithName("Events").DisableRequestTimeout();
        return group;
    }

    private static async Task<IResult> EventsAsync(RouteId routeId, HttpContext http, FetchNodeHost host, CancellationToken cancellationToken)
    {
        var node = await host.Node;
        var progress = await node.Service.SubscribeAsync(Scopes.Of(http), routeId.Value, cancellationToken);
        return progress is null ? Problems.NotFound(routeId.Value) : TypedResults.ServerSentEvents(ToEvents(progress, cancellationToken));
    }

    private static async IAsyncEnumerable<SseItem<string>> ToEvents(
        IAsyncEnumerable<RegistrationProgress> progress,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RegistrationView? last = null;
        await foreach (var item in progress.WithCancellation(cancellationToken))
        {
            var json = JsonSerializer.Serialize(item.Registration, ApiJsonContext.Default.RegistrationView);
            if (item.Settled)
            {
                yield return new SseItem<string>(json, NotificationBody.EventTypeFor(item.Registration));
                yield break;
            }

            // Only changes of uploaded, downloaded, result or failureReason are progress (API.md).
            if (last is null || last.Uploaded != item.Registration.Uploaded || last.Downloaded != item.Registration.Downloaded
                || last.Result != item.Registration.Result || last.FailureReason != item.Registration.FailureReason)
            {
                last = item.Registration;
                yield return new SseItem<string>(json, "progress");
            }
        }
    }
}
