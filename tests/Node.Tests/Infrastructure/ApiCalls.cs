using BgFetchCluster.Messages.Fetch.Api;
using System.Net.Http.Json;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>Small helpers over the node's HTTP API for tests.</summary>
public static class ApiCalls
{
    public static async Task<HttpResponseMessage> CreateAsync(this HttpClient client, object body) =>
        await client.PostAsJsonAsync(new Uri("v1/registrations", UriKind.Relative), body);

    public static async Task<RegistrationView?> GetRegistrationAsync(this HttpClient client, string id)
    {
        using var response = await client.GetAsync(new Uri($"v1/registrations/{Uri.EscapeDataString(id)}", UriKind.Relative));
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.RegistrationView) : null;
    }

    public static async Task<IReadOnlyList<RecordView>> MatchAllAsync(this HttpClient client, string id, string query = "")
    {
        var body = await client.GetFromJsonAsync(new Uri($"v1/registrations/{Uri.EscapeDataString(id)}/records{query}", UriKind.Relative), ApiJsonContext.Default.RecordsBody);
        return body!.Records;
    }

    /// <summary>Polls until the registration has settled; fails with its last state after the deadline.</summary>
    public static async Task<RegistrationView> WaitForSettledAsync(this HttpClient client, string id, TimeSpan timeout, Action<RegistrationView>? observe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        RegistrationView? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await client.GetRegistrationAsync(id);
            if (last is not null)
            {
                observe?.Invoke(last);
                if (last.Result != BackgroundFetchResult.None)
                {
                    return last;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Registration '{id}' did not settle within {timeout}; last seen: {last?.ToString() ?? "nothing"}.");
    }

    /// <summary>Reads the registration's event stream to its end: (event type, data) in order.</summary>
    public static async Task<List<(string Event, string Data)>> ReadEventsAsync(this HttpClient client, string id, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        using var response = await client.GetAsync(new Uri($"v1/registrations/{Uri.EscapeDataString(id)}/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellation.Token);
        response.EnsureSuccessStatusCode();
        var events = new List<(string, string)>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync(cancellation.Token)).EnumerateAsync(cancellation.Token))
        {
            events.Add((item.EventType, item.Data));
        }

        return events;
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the registration.</summary>
    public static async Task<RegistrationView> WaitForAsync(this HttpClient client, string id, Func<RegistrationView, bool> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        RegistrationView? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await client.GetRegistrationAsync(id);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Expected {what} for '{id}' within {timeout}; last seen: {last?.ToString() ?? "nothing"}.");
    }
}
