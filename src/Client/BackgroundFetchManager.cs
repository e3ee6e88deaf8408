using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;

namespace BgFetchCluster.Client;

/// <summary>A request of a fetch: a URL, optionally with method, headers and body (the browser's <c>Request</c>).</summary>
public sealed record BackgroundFetchRequest(string Url, string Method = "GET", IReadOnlyDictionary<string, string>? Headers = null, byte[]? Body = null)
{
    /// <summary>A GET of <paramref name="url"/>.</summary>
    public static implicit operator BackgroundFetchRequest(string url) => new(url);

    /// <summary>A GET of <paramref name="url"/>.</summary>
    public static BackgroundFetchRequest FromString(string url) => new(url);
}

/// <summary>The options of <c>fetch()</c>: UI title and icons, and the expected download size.</summary>
public sealed record BackgroundFetchOptions(string? Title = null, IReadOnlyList<IconView>? Icons = null, long DownloadTotal = 0);

/// <summary>
/// The BackgroundFetchManager of a scope, over a node's HTTP API. Give it an <see cref="HttpClient"/>
/// whose <c>BaseAddress</c> is the node and which carries the API key (or the scope header).
/// </summary>
public sealed class BackgroundFetchManager(HttpClient http)
{
    internal HttpClient Http { get; } = http ?? throw new ArgumentNullException(nameof(http));

    /// <summary>Registers a fetch (<c>fetch(id, requests, options)</c>).</summary>
    public async Task<BackgroundFetchRegistration> FetchAsync(
        string id,
        IEnumerable<BackgroundFetchRequest> requests,
        BackgroundFetchOptions? options = null,
        Uri? baseUrl = null,
        Uri? notifyUrl = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var elements = requests.Select(r => JsonSerializer.SerializeToElement(
            new RequestBody(r.Url, r.Method, r.Headers, r.Body is null ? null : Convert.ToBase64String(r.Body)),
            ApiJsonContext.Default.RequestBody)).ToList();
        var body = new CreateRegistrationBody(
            id,
            elements,
            baseUrl?.AbsoluteUri,
            options is null ? null : new RegistrationOptionsBody(options.Title, options.Icons, options.DownloadTotal),
            notifyUrl is null ? null : new NotifyBody(notifyUrl.AbsoluteUri));
        using var response = await Http.PostAsJsonAsync(new Uri("v1/registrations", UriKind.Relative), body, ApiJsonContext.Default.CreateRegistrationBody, cancellationToken).ConfigureAwait(false);
        var view = await ReadAsync(response, ApiJsonContext.Default.RegistrationView, cancellationToken).ConfigureAwait(false);
        return new BackgroundFetchRegistration(this, view);
    }

    /// <summary>The registration with this id, or null (<c>get(id)</c>).</summary>
    public async Task<BackgroundFetchRegistration?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(RegistrationUri(id), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        return new BackgroundFetchRegistration(this, await ReadAsync(response, ApiJsonContext.Default.RegistrationView, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The ids of the active registrations, oldest first (<c>getIds()</c>).</summary>
    public async Task<IReadOnlyList<string>> GetIdsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(new Uri("v1/registrations", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return (await ReadAsync(response, ApiJsonContext.Default.IdsBody, cancellationToken).ConfigureAwait(false)).Ids;
    }

    internal static Uri RegistrationUri(string id, string suffix = "") =>
        new($"v1/registrations/{Uri.EscapeDataString(id)}{suffix}", UriKind.Relative);

    /// <summary>Reads a success body, or throws the problem's DOMException name.</summary>
    internal static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken).ConfigureAwait(false)
            ?? throw new BackgroundFetchException("TypeError", (int)response.StatusCode, "The node answered with an empty body.");
    }

    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string name = "TypeError", detail = response.ReasonPhrase ?? "";
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
            name = problem.TryGetProperty("name", out var n) ? n.GetString() ?? name : name;
            detail = problem.TryGetProperty("detail", out var d) ? d.GetString() ?? detail : detail;
        }
        catch (JsonException)
        {
            // Not a problem document: keep the status line.
        }

        throw new BackgroundFetchException(name, (int)response.StatusCode, detail);
    }
}
