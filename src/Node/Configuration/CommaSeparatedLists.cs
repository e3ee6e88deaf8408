using System.Globalization;
using System.Reflection;

namespace BgFetchCluster.Node.Configuration;

/// <summary>
/// Lets every list setting take one value with commas (docs/api.md, "Configuration"):
/// <c>BgFetch__Fetch__DeniedNetworks=10.0.0.0/8,fd00::/8</c> binds as two entries, as <c>__0</c> and <c>__1</c> do.
/// The .NET binder ignores a plain value on a list key (it only reads children named 0, 1, ...), so before binding
/// the settings type is walked once, and every list key that holds a value gets its entries (and any indexed
/// entries it also has, after them) as children in a layer added last. One place for every list key, present and
/// future: the binder then binds them like any indexed list.
/// </summary>
public static class CommaSeparatedLists
{
    /// <summary>
    /// Adds to <paramref name="configuration"/> the indexed children of every list key of <typeparamref name="TSettings"/>
    /// under <paramref name="sectionName"/> that holds a comma-separated value; nothing when none does.
    /// </summary>
    public static IConfigurationBuilder AddCommaSeparatedLists<TSettings>(this ConfigurationManager configuration, string sectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var entries = Expand(configuration, typeof(TSettings), sectionName);
        return entries.Count == 0 ? configuration : configuration.AddInMemoryCollection(entries);
    }

    /// <summary>The indexed entries (<c>Section:Key:0</c>, ...) that the comma-separated list values under <paramref name="sectionName"/> stand for.</summary>
    public static Dictionary<string, string?> Expand(IConfiguration configuration, Type settingsType, string sectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settingsType);
        var entries = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Walk(configuration, settingsType, sectionName, entries, depth: 0);
        return entries;
    }

    private static void Walk(IConfiguration configuration, Type type, string path, Dictionary<string, string?> entries, int depth)
    {
        // Settings nest a few levels; the bound keeps a self-referencing type from looping.
        if (depth > 8)
        {
            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanRead || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var key = ConfigurationPath.Combine(path, property.Name);
            if (IsStringList(property.PropertyType))
            {
                ExpandList(configuration.GetSection(key), key, entries);
            }
            else if (IsSettingsObject(property.PropertyType))
            {
                Walk(configuration, property.PropertyType, key, entries, depth + 1);
            }
        }
    }

    private static void ExpandList(IConfigurationSection section, string key, Dictionary<string, string?> entries)
    {
        if (string.IsNullOrWhiteSpace(section.Value))
        {
            return;
        }

        var values = section.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

        // Indexed entries given as well (another source, say appsettings.json) follow the comma-separated ones.
        values.AddRange(section.GetChildren()
            .Where(static c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .OrderBy(static c => int.Parse(c.Key, CultureInfo.InvariantCulture))
            .Select(static c => c.Value)
            .OfType<string>());
        for (var i = 0; i < values.Count; i++)
        {
            entries[ConfigurationPath.Combine(key, i.ToString(CultureInfo.InvariantCulture))] = values[i];
        }
    }

    private static bool IsStringList(Type type) =>
        type == typeof(string[])
        || type.IsGenericType && type.GetGenericArguments() is [var element] && element == typeof(string)
            && typeof(IEnumerable<string>).IsAssignableFrom(type);

    /// <summary>A class of the product's own settings (not a string, collection or framework type) whose properties are keys too.</summary>
    private static bool IsSettingsObject(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("BgFetchCluster", StringComparison.Ordinal) == true
        && !typeof(System.Collections.IEnumerable).IsAssignableFrom(type);
}
