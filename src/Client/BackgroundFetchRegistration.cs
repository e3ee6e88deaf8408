using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;

namespace BgFetchCluster.Client;

/// <summary>Options of <c>match</c>/<c>matchAll</c> (the Cache API's <c>CacheQueryOptions</c>).</summary>
public sealed record CacheQueryOptions(bool IgnoreSearch = false, bool IgnoreMethod = false, bool IgnoreVary = false);

/// <summary>One progress event: the registration's state, and whether it is the terminal one.</summary>
public sealed record BackgroundFetchProgress(string EventType, RegistrationView Registration)
{
    /// <summary>True for <c>backgroundfetchsuccess</c>, <c>backgroundfetchfail</c> and <c>backgroundfetchabort</c>.</summary>
    public bool IsTerminal => EventType != "progress";
}

/// <summary>A BackgroundFetchRegistration: its state as last read, and the operations on it.</summary>
public sealed class BackgroundFetchRegistration
{
    private readonly BackgroundFetchManager _manager;

    internal BackgroundFetchRegistration(BackgroundFetchManager manager, RegistrationView view)
    {
        _manager = manager;
        View = view;
    }

    /// <summary>The state as last read from the node.</summary>
    public RegistrationView View { get; private set; }

    /// <summary>The registration's id.</summary>
    public string Id => View.Id;

    /// <summary><c>result</c>: None while active.</summary>
    public BackgroundFetchResult Result => View.Result;

    /// <summary><c>failureReason</c>.</summary>
    public BackgroundFetchFailureReason FailureReason => View.FailureReason;

    /// <summary><c>downloaded</c>.</summary>
    public long Downloaded => View.Downloaded;

    /// <summary>Reads the current state again.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _manager.Http.GetAsync(BackgroundFetchManager.RegistrationUri(Id), cancellationToken).ConfigureAwait(false);
        View = await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.RegistrationView, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Aborts; true when it was active (<c>abort()</c>).</summary>
    public async Task<bool> AbortAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _manager.Http.PostAsync(BackgroundFetchManager.RegistrationUri(Id, "/abort"), null, cancellationToken).ConfigureAwait(false);
        return (await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.AbortBody, cancellationToken).ConfigureAwait(false)).Aborted;
    }

    /// <summary>The first matching record, or null (<c>match()</c>).</summary>
    public async Task<BackgroundFetchRecord?> MatchAsync(string url, CacheQueryOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var response = await _manager.Http.GetAsync(BackgroundFetchManager.RegistrationUri(Id, "/records/match" + Query(url, options)), cancellationToken).ConfigureAwait(false);
        var record = (await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.RecordBody, cancellationToken).ConfigureAwait(false)).Record;
        return record is null ? null : new BackgroundFetchRecord(_manager, Id, record);
    }

    /// <summary>The matching records in request order; all of them without <paramref name="url"/> (<c>matchAll()</c>).</summary>
    public async Task<IReadOnlyList<BackgroundFetchRecord>> MatchAllAsync(string? url = null, CacheQueryOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var response = await _manager.Http.GetAsync(BackgroundFetchManager.RegistrationUri(Id, "/records" + Query(url, options)), cancellationToken).ConfigureAwait(false);
        var records = (await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.RecordsBody, cancellationToken).ConfigureAwait(false)).Records;
        return [.. records.Select(r => new BackgroundFetchRecord(_manager, Id, r))];
    }

    /// <summary>
    /// <c>updateUI()</c> (Background Fetch, <c>BackgroundFetchUpdateUIEvent</c>): shows a new title and/or icons from now
    /// on (null leaves one as it is); <see cref="View"/> is the registration as the node now has it. A title or icon the
    /// node refuses throws <see cref="BackgroundFetchException"/> <c>TypeError</c>.
    /// </summary>
    public async Task UpdateUIAsync(string? title = null, IReadOnlyList<IconView>? icons = null, CancellationToken cancellationToken = default)
    {
        using var content = JsonContent.Create(new UpdateUiBody(title, icons), ApiJsonContext.Default.UpdateUiBody);
        using var response = await _manager.Http.PostAsync(BackgroundFetchManager.RegistrationUri(Id, "/ui"), content, cancellationToken).ConfigureAwait(false);
        View = await BackgroundFetchManager.ReadAsync(response, ApiJsonContext.Default.RegistrationView, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The title the registration shows (<c>options.title</c>, or what <c>updateUI()</c> set).</summary>
    public string Title => View.Title;

    /// <summary>Releases the records and forgets the registration.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _manager.Http.DeleteAsync(BackgroundFetchManager.RegistrationUri(Id), cancellationToken).ConfigureAwait(false);
        await BackgroundFetchManager.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Progress events as they happen, ending with the terminal event (the <c>progress</c> event and the service worker's fetch events).</summary>
    public async IAsyncEnumerable<BackgroundFetchProgress> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, BackgroundFetchManager.RegistrationUri(Id, "/events"));
        using var response = await _manager.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await BackgroundFetchManager.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var streamScope = stream.ConfigureAwait(false);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            var view = JsonSerializer.Deserialize(item.Data, ApiJsonContext.Default.RegistrationView)!;
            View = view;
            var progress = new BackgroundFetchProgress(item.EventType, view);
            yield return progress;
            if (progress.IsTerminal)
            {
                yield break;
            }
        }
    }

    private static string Query(string? url, CacheQueryOptions? options)
    {
        var parts = new List<string>();
        if (url is not null)
        {
            parts.Add("url=" + Uri.EscapeDataString(url));
        }

        if (options is not null)
        {
            parts.Add("ignoreSearch=" + (options.IgnoreSearch ? "true" : "false"));
            parts.Add("ignoreMethod=" + (options.IgnoreMethod ? "true" : "false"));
            parts.Add("ignoreVary=" + (options.IgnoreVary ? "true" : "false"));
        }

        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}

/// <summary>A BackgroundFetchRecord: its request, its state and, once it settles, its stored response.</summary>
public sealed class BackgroundFetchRecord
{
    private readonly BackgroundFetchManager _manager;
    private readonly string _registrationId;

    internal BackgroundFetchRecord(BackgroundFetchManager manager, string registrationId, RecordView view)
    {
        _manager = manager;
        _registrationId = registrationId;
        View = view;
    }

    /// <summary>The record as read.</summary>
    public RecordView View { get; }

    /// <summary>The record's request.</summary>
    public RequestView Request => View.Request;

    /// <summary>
    /// Waits until the record settles and returns its stored response with a streamed body
    /// (<c>responseReady</c>); the <c>X-BgFetch-Status</c> header carries the original status.
    /// Throws <see cref="BackgroundFetchException"/> <c>AbortError</c> for an aborted record.
    /// </summary>
    public async Task<HttpResponseMessage> ResponseReadyAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var query = timeout is { } t ? "?timeout=" + t.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
        var uri = BackgroundFetchManager.RegistrationUri(_registrationId, $"/records/{View.Index}/body{query}");
        var response = await _manager.Http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            await BackgroundFetchManager.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
