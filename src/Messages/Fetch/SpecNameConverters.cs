using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch;

/// <summary>
/// Writes an enum as the exact string the Background Fetch specification uses (including the empty
/// string for "none", which System.Text.Json's enum converter refuses) and reads only those strings.
/// </summary>
public abstract class SpecNameConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    private readonly FrozenDictionary<T, string> _names;
    private readonly FrozenDictionary<string, T> _values;

    /// <summary>Creates the converter from the enum's name table.</summary>
    protected SpecNameConverter(IReadOnlyDictionary<T, string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = names.ToFrozenDictionary();
        _values = names.ToFrozenDictionary(static p => p.Value, static p => p.Key, StringComparer.Ordinal);
    }

    /// <summary>The specification's string for <paramref name="value"/>.</summary>
    public string NameOf(T value) => _names[value];

    /// <inheritdoc />
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"Expected a string for {typeof(T).Name}.");
        return _values.TryGetValue(text, out var value) ? value : throw new JsonException($"'{text}' is not a {typeof(T).Name}.");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(_names[value]);
    }
}

/// <summary>The spec names of <see cref="BackgroundFetchResult"/>.</summary>
public sealed class BackgroundFetchResultConverter() : SpecNameConverter<BackgroundFetchResult>(new Dictionary<BackgroundFetchResult, string>
{
    [BackgroundFetchResult.None] = "",
    [BackgroundFetchResult.Success] = "success",
    [BackgroundFetchResult.Failure] = "failure",
});

/// <summary>The spec names of <see cref="BackgroundFetchFailureReason"/>.</summary>
public sealed class BackgroundFetchFailureReasonConverter() : SpecNameConverter<BackgroundFetchFailureReason>(new Dictionary<BackgroundFetchFailureReason, string>
{
    [BackgroundFetchFailureReason.None] = "",
    [BackgroundFetchFailureReason.Aborted] = "aborted",
    [BackgroundFetchFailureReason.BadStatus] = "bad-status",
    [BackgroundFetchFailureReason.FetchError] = "fetch-error",
    [BackgroundFetchFailureReason.QuotaExceeded] = "quota-exceeded",
    [BackgroundFetchFailureReason.DownloadTotalExceeded] = "download-total-exceeded",
});

/// <summary>The names of <see cref="RecordState"/> in docs/api.md.</summary>
public sealed class RecordStateConverter() : SpecNameConverter<RecordState>(new Dictionary<RecordState, string>
{
    [RecordState.Pending] = "pending",
    [RecordState.Fetching] = "fetching",
    [RecordState.Success] = "success",
    [RecordState.BadStatus] = "bad-status",
    [RecordState.FetchError] = "fetch-error",
    [RecordState.Aborted] = "aborted",
    [RecordState.QuotaExceeded] = "quota-exceeded",
    [RecordState.DownloadTotalExceeded] = "download-total-exceeded",
});
