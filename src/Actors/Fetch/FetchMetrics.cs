using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// The fetch figures (registrations, records, bytes, retries, SSRF refusals, journal latency, failover restarts) and the
/// store outage figures (store retries, stores in an outage, 503 answers) as <see cref="System.Diagnostics.Metrics"/> instruments and an <see cref="System.Diagnostics.ActivitySource"/>,
/// both named <see cref="Name"/>. The node exports them with OpenTelemetry; this assembly depends on no exporter.
/// </summary>
public static class FetchMetrics
{
    /// <summary>The meter's and the activity source's name.</summary>
    public const string Name = "BgFetchCluster";

    private static readonly Meter Meter = new(Name);

    /// <summary>Traces of creation, fetch attempts and settlement.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Registrations created on this node.</summary>
    public static readonly Counter<long> RegistrationsCreated =
        Meter.CreateCounter<long>("bgfetch.registrations.created", "{registration}", "Registrations created");

    /// <summary>Registrations settled, tagged by <c>result</c> and <c>failure_reason</c>.</summary>
    public static readonly Counter<long> RegistrationsSettled =
        Meter.CreateCounter<long>("bgfetch.registrations.settled", "{registration}", "Registrations settled, by result and failure reason");

    /// <summary>Records of settled registrations, tagged by <c>state</c>.</summary>
    public static readonly Counter<long> RecordsSettled =
        Meter.CreateCounter<long>("bgfetch.records.settled", "{record}", "Records of settled registrations, by state");

    /// <summary>Response body bytes stored.</summary>
    public static readonly Counter<long> BytesDownloaded =
        Meter.CreateCounter<long>("bgfetch.downloaded", "By", "Response body bytes stored");

    /// <summary>Request body bytes sent.</summary>
    public static readonly Counter<long> BytesUploaded =
        Meter.CreateCounter<long>("bgfetch.uploaded", "By", "Request body bytes sent");

    /// <summary>Records downloading now on this node.</summary>
    public static readonly UpDownCounter<long> ActiveDownloads =
        Meter.CreateUpDownCounter<long>("bgfetch.downloads.active", "{record}", "Records downloading now");

    /// <summary>Attempts retried after a transient failure.</summary>
    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("bgfetch.retries", "{attempt}", "Fetch attempts retried after a transient failure");

    /// <summary>Connections refused by the SSRF guard.</summary>
    public static readonly Counter<long> SsrfRefusals =
        Meter.CreateCounter<long>("bgfetch.ssrf.refusals", "{connection}", "Connections refused because the target address is not allowed");

    /// <summary>Time from a journal write request to its durable completion.</summary>
    public static readonly Histogram<double> JournalWriteLatency =
        Meter.CreateHistogram<double>(
            "bgfetch.journal.write.duration",
            "s",
            "Journal write latency",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    /// <summary>Registrations recovered while active (a crash, a hand-off, a rebalance).</summary>
    public static readonly Counter<long> FailoverRestarts =
        Meter.CreateCounter<long>("bgfetch.failover.restarts", "{registration}", "Registrations recovered while active");

    /// <summary>Registrations that passivated while they waited for turns (<see cref="FetchOptions.ParkPendingAfter"/>).</summary>
    public static readonly Counter<long> Parked =
        Meter.CreateCounter<long>("bgfetch.registrations.parked", "{registration}", "Registrations passivated while they waited for a turn");

    /// <summary>
    /// Store round trips that failed transiently and are retried (<see cref="Persistence.StoreResilience"/>), tagged by
    /// <c>store</c>: <c>journal</c>, <c>snapshot</c> or <c>bodies</c>.
    /// </summary>
    public static readonly Counter<long> StoreRetries =
        Meter.CreateCounter<long>("bgfetch.store.retries", "{attempt}", "Store round trips that failed transiently and are retried, by store");

    /// <summary>
    /// Stores in an outage now, tagged by <c>store</c>: 1 while at least one of its operations is waiting out transient
    /// errors (a retry runs), 0 otherwise.
    /// </summary>
    public static readonly UpDownCounter<long> StoresUnavailable =
        Meter.CreateUpDownCounter<long>("bgfetch.stores.unavailable", "{store}", "Stores in an outage now (a retry runs), by store");

    /// <summary>
    /// API answers 503 <c>UnavailableError</c>, tagged by <c>reason</c>: <c>store</c> (the store is known to be down, or
    /// stayed away past the outage tolerance) or <c>timeout</c> (<c>BgFetch:Http:RequestTimeout</c> passed, or the cluster
    /// did not answer).
    /// </summary>
    public static readonly Counter<long> HttpUnavailable =
        Meter.CreateCounter<long>("bgfetch.http.unavailable", "{response}", "API calls answered 503 UnavailableError, by reason");

    /// <summary>The specification's names of each enum value, by value (the JSON converters' names, computed once).</summary>
    private static readonly string[] ResultNames = SpecNames<BackgroundFetchResult>();
    private static readonly string[] ReasonNames = SpecNames<BackgroundFetchFailureReason>();
    private static readonly string[] RecordStateNames = SpecNames<RecordState>();

    /// <summary>The tags of <see cref="RegistrationsSettled"/>, bound once per result and failure reason.</summary>
    private static readonly KeyValuePair<string, object?>[][] SettledTags =
        [.. from result in ResultNames
            from reason in ReasonNames
            select new KeyValuePair<string, object?>[] { new("result", result), new("failure_reason", reason) }];

    /// <summary>The tags of <see cref="RecordsSettled"/>, bound once per record state.</summary>
    private static readonly KeyValuePair<string, object?>[][] RecordSettledTags =
        [.. RecordStateNames.Select(static state => new KeyValuePair<string, object?>[] { new("state", state) })];

    /// <summary>
    /// Counts a settled registration and its records, and traces the settlement. Runs once per registration, so the tag
    /// lists are bound in advance (issue 17, cut 7): nothing is serialized or allocated here but the activity, and
    /// records in the same state as the one before are counted in one addition.
    /// </summary>
    internal static void Settled(RegistrationState state)
    {
        var result = (int)state.Result;
        var reason = (int)state.FailureReason;
        var resultName = (uint)result < (uint)ResultNames.Length ? ResultNames[result] : SpecName(state.Result);
        var reasonName = (uint)reason < (uint)ReasonNames.Length ? ReasonNames[reason] : SpecName(state.FailureReason);
        if ((uint)result < (uint)ResultNames.Length && (uint)reason < (uint)ReasonNames.Length)
        {
            RegistrationsSettled.Add(1, SettledTags[(result * ReasonNames.Length) + reason]);
        }
        else
        {
            RegistrationsSettled.Add(1, new("result", resultName), new("failure_reason", reasonName));
        }

        var records = state.Records;
        for (var i = 0; i < records.Length;)
        {
            var recordState = records[i].State;
            var run = 1;
            while (i + run < records.Length && records[i + run].State == recordState)
            {
                run++;
            }

            AddRecordsSettled(recordState, run);
            i += run;
        }

        using var activity = ActivitySource.StartActivity("bgfetch.settle");
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("bgfetch.id", state.Definition?.Id);
            activity.SetTag("bgfetch.result", resultName);
            activity.SetTag("bgfetch.failure_reason", reasonName);
        }
    }

    /// <summary>Counts one download in <see cref="ActiveDownloads"/> until disposed.</summary>
    internal static ActiveDownload StartDownload()
    {
        ActiveDownloads.Add(1);
        return default;
    }

    private static void AddRecordsSettled(RecordState state, int count)
    {
        var index = (int)state;
        if ((uint)index < (uint)RecordSettledTags.Length)
        {
            RecordsSettled.Add(count, RecordSettledTags[index]);
        }
        else
        {
            RecordsSettled.Add(count, new KeyValuePair<string, object?>("state", SpecName(state)));
        }
    }

    /// <summary>The names of an enum whose values run from 0 without gaps, by value; empty if they have gaps.</summary>
    private static string[] SpecNames<T>()
        where T : struct, Enum
    {
        var values = Enum.GetValues<T>();
        var names = new string[values.Length];
        foreach (var value in values)
        {
            var index = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
            if ((uint)index >= (uint)names.Length)
            {
                return [];
            }

            names[index] = SpecName(value);
        }

        return names;
    }

    private static string SpecName<T>(T value) => JsonSerializer.Serialize(value).Trim('"');

    /// <summary>Ends one active download.</summary>
    internal readonly struct ActiveDownload : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => ActiveDownloads.Add(-1);
    }
}
