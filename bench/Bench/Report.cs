using System.Globalization;
using System.Text;

namespace BgFetchCluster.Bench;

/// <summary>One line of the results table: the kernel's figure next to its peer's.</summary>
/// <param name="Benchmark">The section (tell, ask, journal, memory).</param>
/// <param name="Scenario">What ran, with its sizes.</param>
/// <param name="Unit">The unit of both figures.</param>
/// <param name="Kernel">BgFetchCluster's median.</param>
/// <param name="PeerName">The bare baseline it is compared with.</param>
/// <param name="Peer">The baseline's median, if it ran.</param>
/// <param name="Target">A human-readable target, if any.</param>
/// <param name="Met">Whether the target is met, if there is one.</param>
internal sealed record Row(
    string Benchmark,
    string Scenario,
    string Unit,
    Sample Kernel,
    string PeerName,
    Sample? Peer,
    string Target = "",
    bool? Met = null);

/// <summary>Renders rows as a Markdown table.</summary>
internal static class Report
{
    public static string ToMarkdown(IEnumerable<Row> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| benchmark | scenario | unit | BgFetchCluster (median) | peer | peer (median) | ratio kernel/peer | target | met |");
        text.AppendLine("|---|---|---|--:|---|--:|--:|---|---|");
        foreach (var row in rows)
        {
            var ratio = row.Peer is { Median: > 0 } peer ? (row.Kernel.Median / peer.Median).ToString("0.00", CultureInfo.InvariantCulture) : "";
            var met = row.Met switch
            {
                true => "yes",
                false => "**no**",
                null => "",
            };
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Benchmark} | {row.Scenario} | {row.Unit} | {Format(row.Kernel)} | {row.PeerName} | {(row.Peer is null ? "" : Format(row.Peer))} | {ratio} | {row.Target} | {met} |");
        }

        return text.ToString();
    }

    /// <summary>The median, with the range of the iterations when they differ noticeably.</summary>
    private static string Format(Sample sample)
    {
        var median = Number(sample.Median);
        return sample.Max - sample.Min > 0.05 * sample.Median
            ? $"{median} ({Number(sample.Min)}–{Number(sample.Max)})"
            : median;
    }

    public static string Number(double value) =>
        value >= 100 ? value.ToString("#,0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);
}
