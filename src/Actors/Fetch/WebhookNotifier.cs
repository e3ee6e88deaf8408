using System.Net.Http.Json;
using BgFetchCluster.Actors.Fetch.Http;
using Akka.Actor;
using BgFetchCluster.Messages.Fetch.Api;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// Delivers the <c>notify</c> webhook of settled registrations: POSTs the event with
/// <c>X-BgFetch-Event-Id</c> (so receivers drop duplicates) and retries with backoff until a 2xx,
/// through the same guarded fetcher as records. Each delivery is a task; the mailbox stays free.
/// </summary>
internal sealed class WebhookNotifier : ReceiveActor
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(5);
    private readonly CancellationTokenSource _stopping = new();

    public WebhookNotifier(Fetcher fetcher, TimeProvider timeProvider) =>
        Receive<NotifySettled>(notify => _ = DeliverAsync(fetcher, timeProvider, notify, _stopping.Token));

    public static Props Props(Fetcher fetcher, TimeProvider timeProvider) =>
        Akka.Actor.Props.Create(() => new WebhookNotifier(fetcher, timeProvider));

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private static async Task DeliverAsync(Fetcher fetcher, TimeProvider timeProvider, NotifySettled notify, CancellationToken cancellationToken)
    {
        var body = new NotificationBody(NotificationBody.EventTypeFor(notify.Registration), notify.Registration);
        var delay = FirstDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, notify.Url)
                {
                    Content = JsonContent.Create(body, ApiJsonContext.Default.NotificationBody),
                };
                request.Headers.Add("X-BgFetch-Event-Id", notify.EntityId + "/settled");
                using var response = await fetcher.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception exception) when (Fetcher.FindRefusal(exception) is not null)
            {
                // The SSRF guard refused the hook's address: trying again would be refused again.
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or TimeoutException)
            {
                // Retried below: delivery is at least once.
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = delay * 2 > MaxDelay ? MaxDelay : delay * 2;
        }
    }
}
