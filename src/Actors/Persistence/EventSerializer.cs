using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using BgFetchCluster.Messages;

namespace BgFetchCluster.Actors.Persistence;

/// <summary>
/// Turns events and snapshots into (manifest, UTF-8 JSON) and back, through source-generated
/// <see cref="JsonTypeInfo"/>s registered per type under a stable manifest.
/// </summary>
/// <remarks>
/// The manifest, never the CLR type name, is what the journal stores, so types can be renamed or moved
/// without breaking replay. Register every type at start-up; lookups are lock-free afterwards.
/// </remarks>
public sealed class EventSerializer
{
    private readonly ConcurrentDictionary<Type, Registration> _byType = new();
    private readonly ConcurrentDictionary<string, Registration> _byManifest = new(StringComparer.Ordinal);
    private readonly Lock _registrationLock = new();

    /// <summary>Registers <typeparamref name="T"/> under the name of its <see cref="SerializedNameAttribute"/>.</summary>
    /// <exception cref="InvalidOperationException">The type has no [SerializedName] or is already registered.</exception>
    public EventSerializer Register<T>(JsonTypeInfo<T> typeInfo)
    {
        var name = typeof(T).GetCustomAttribute<SerializedNameAttribute>()?.Name
            ?? throw new InvalidOperationException(
                $"{typeof(T).FullName} has no [SerializedName]: give it one, or register it with an explicit manifest.");
        return Register(name, typeInfo);
    }

    /// <summary>Registers <typeparamref name="T"/> under an explicit, stable manifest.</summary>
    /// <exception cref="InvalidOperationException">The type or the manifest is already registered.</exception>
    public EventSerializer Register<T>(string manifest, JsonTypeInfo<T> typeInfo)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(manifest);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var registration = new Registration(manifest, typeInfo);
        // Both maps change together or not at all, so a manifest always maps back to its own type.
        lock (_registrationLock)
        {
            if (_byManifest.TryGetValue(manifest, out var existing))
            {
                throw new InvalidOperationException(
                    $"Manifest '{manifest}' is already registered for {existing.TypeInfo.Type.FullName}; manifests must be unique.");
            }

            if (_byType.ContainsKey(typeof(T)))
            {
                throw new InvalidOperationException($"{typeof(T).FullName} is already registered.");
            }

            _byManifest[manifest] = registration;
            _byType[typeof(T)] = registration;
        }

        return this;
    }

    /// <summary>Every registered type.</summary>
    public IReadOnlyList<Type> Types => [.. _byType.Keys];

    /// <summary>The manifest <paramref name="type"/> is registered under.</summary>
    /// <exception cref="JournalRejectionException">The type is not registered.</exception>
    public string ManifestOf(Type type) =>
        _byType.TryGetValue(type, out var registration)
            ? registration.Manifest
            : throw new JournalRejectionException($"{type.FullName} is not a registered message type; register it with EventSerializer.Register.");

    /// <summary>Serializes a registered event or snapshot to its manifest and UTF-8 JSON payload.</summary>
    /// <exception cref="JournalRejectionException">The type is not registered or cannot be serialized.</exception>
    public (string Manifest, byte[] Payload) Serialize(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        if (!_byType.TryGetValue(@event.GetType(), out var registration))
        {
            throw new JournalRejectionException(
                $"{@event.GetType().FullName} is not a registered event type; register it with EventSerializer.Register before persisting it.");
        }

        try
        {
            return (registration.Manifest, JsonSerializer.SerializeToUtf8Bytes(@event, registration.TypeInfo));
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException or InvalidOperationException)
        {
            // A rejection fails only this event's Persist; the actor and its neighbours carry on.
            throw new JournalRejectionException(
                $"{@event.GetType().FullName} ('{registration.Manifest}') could not be serialized: {exception.Message}",
                exception);
        }
    }

    /// <summary>Deserializes a payload stored under <paramref name="manifest"/>.</summary>
    /// <exception cref="SerializationException">The manifest is unknown or the payload does not match it.</exception>
    public object Deserialize(string manifest, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!_byManifest.TryGetValue(manifest, out var registration))
        {
            throw new SerializationException(
                $"No event type is registered for manifest '{manifest}'; the journal holds an event this node cannot read.");
        }

        try
        {
            return JsonSerializer.Deserialize(payload, registration.TypeInfo)
                ?? throw new SerializationException($"The payload stored under '{manifest}' is JSON null.");
        }
        catch (JsonException exception)
        {
            throw new SerializationException($"The payload stored under '{manifest}' is not a valid {registration.TypeInfo.Type.FullName}.", exception);
        }
    }

    private sealed record Registration(string Manifest, JsonTypeInfo TypeInfo);
}
