using System.Globalization;
using System.Text;

namespace BgFetchCluster.Bench;

/// <summary>Renders the persistence results as Markdown: every plugin next to its peers of the same run.</summary>
internal static class Report
{
    public static string ToMarkdown(IReadOnlyList<PersistenceResult> results, BenchSettings settings)
    {
        var ceiling = results.FirstOrDefault(r => r.Case.Database is null)?.Creations.Median;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| store | journal plugin | creations/s, warm | first {Number(settings.Entities)}, cold | vs in-memory | events/s, live entities | journal alone, {settings.Writers} writers, events/s | raw driver, 1 transaction, rows/s | process CPU per creation | PostgreSQL CPU per creation | transactions per creation |");
        text.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var r in results)
        {
            var ratio = ceiling is > 0 ? (r.Creations.Median / ceiling.Value).ToString("0.00", CultureInfo.InvariantCulture) : "";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Case.Store} | {r.Case.Plugin} | {Format(r.Creations)} | {Number(r.ColdCreations)} | {ratio} | {Format(r.Events)} | {Format(r.JournalAlone)} | "
                + $"{(r.RawDriver is null ? "" : Format(r.RawDriver))} | {Milliseconds(r.ProcessCpuPerCreation)} | "
                + $"{(r.PostgreSqlCpuPerCreation is null ? "" : Milliseconds(r.PostgreSqlCpuPerCreation))} | "
                + $"{(r.TransactionsPerCreation is { } t ? t.ToString("0.000", CultureInfo.InvariantCulture) : "")} |");
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

    private static string Milliseconds(Sample sample) => sample.Median.ToString("0.00", CultureInfo.InvariantCulture) + " ms";

    public static string Number(double value) =>
        value >= 100 ? value.ToString("#,0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);
}
