using System.Globalization;
using System.Text;
using Akka.Configuration;

namespace BgFetchCluster.Node.Configuration;

/// <summary>
/// Turns the <c>akka</c> configuration section (appsettings, <c>akka__...</c> environment variables,
/// <c>--akka:...</c> arguments) into HOCON under <c>akka</c>. Written here rather than Akka.Hosting's
/// <c>AddHocon(IConfiguration)</c> because that one, given a section, overrode unrelated settings
/// (<c>akka.stdout-loglevel</c> became empty and the system refused to start). Values are quoted
/// strings, which HOCON reads as numbers, booleans and durations where a setting needs one; children
/// named 0, 1, 2... become a list.
/// </summary>
public static class AkkaSectionHocon
{
    /// <summary>The section as HOCON rooted at <c>akka</c>, or null when the section is absent.</summary>
    public static Config? From(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (!section.Exists())
        {
            return null;
        }

        var hocon = new StringBuilder("akka ");
        Write(section, hocon);
        return ConfigurationFactory.ParseString(hocon.ToString());
    }

    private static void Write(IConfigurationSection section, StringBuilder hocon)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            hocon.Append("= ").Append(Quote(section.Value ?? string.Empty)).Append('\n');
            return;
        }

        if (children.All(static c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            hocon.Append("= [")
                .AppendJoin(", ", children.OrderBy(static c => int.Parse(c.Key, CultureInfo.InvariantCulture)).Select(static c => Quote(c.Value ?? string.Empty)))
                .Append("]\n");
            return;
        }

        hocon.Append("{\n");
        foreach (var child in children)
        {
            hocon.Append(Quote(child.Key)).Append(' ');
            Write(child, hocon);
        }

        hocon.Append("}\n");
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
