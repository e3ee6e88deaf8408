using System.Diagnostics;
using System.Diagnostics.Metrics;
using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Tests.Fetch;

/// <summary>
/// The settlement figures keep the names and tags docs/api.md lists with their tag lists bound in advance. Other test
/// classes settle registrations in parallel on the same static meter, so only what this test's thread adds is read
/// (a counter calls its listeners on the adding thread) and the activity is found by its registration id.
/// </summary>
public sealed class FetchMetricsTests : IDisposable
{
    /// <summary>The thread the test settles on; set by the test itself (the constructor may run elsewhere).</summary>
    private int _thread = -1;
    private readonly List<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measurements = [];
    private readonly List<Activity> _activities = [];
    private readonly MeterListener _meterListener = new();
    private readonly ActivityListener _activityListener;

    public FetchMetricsTests()
    {
        _meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == FetchMetrics.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (Environment.CurrentManagedThreadId == _thread)
            {
                _measurements.Add((instrument.Name, value, tags.ToArray().ToDictionary(static t => t.Key, static t => t.Value)));
            }
        });
        _meterListener.Start();
        _activityListener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == FetchMetrics.Name,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (_activities)
                {
                    _activities.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_activityListener);
    }

    [Fact]
    public void Settled_RecordsInSeveralStates_CountsEachStateByItsSpecNameAndTheRegistrationOnce()
    {
        var id = "metrics-" + Guid.NewGuid().ToString("N");
        var state = SettledState(
            id,
            BackgroundFetchResult.Failure,
            BackgroundFetchFailureReason.BadStatus,
            RecordState.Success, RecordState.Success, RecordState.BadStatus, RecordState.FetchError, RecordState.Success);

        _thread = Environment.CurrentManagedThreadId;
        FetchMetrics.Settled(state);

        var registration = Assert.Single(_measurements, static m => m.Instrument == "bgfetch.registrations.settled");
        Assert.Equal(1, registration.Value);
        Assert.Equal(new Dictionary<string, object?> { ["result"] = "failure", ["failure_reason"] = "bad-status" }, registration.Tags);
        var records = _measurements
            .Where(static m => m.Instrument == "bgfetch.records.settled")
            .GroupBy(static m => Assert.Single(m.Tags, static t => t.Key == "state").Value as string)
            .ToDictionary(static g => g.Key!, static g => g.Sum(static m => m.Value));
        Assert.Equal(new Dictionary<string, long> { ["success"] = 3, ["bad-status"] = 1, ["fetch-error"] = 1 }, records);
        Assert.All(_measurements.Where(static m => m.Instrument == "bgfetch.records.settled"), static m => Assert.Single(m.Tags));

        var activity = SettleActivity(id);
        Assert.Equal("failure", activity.GetTagItem("bgfetch.result"));
        Assert.Equal("bad-status", activity.GetTagItem("bgfetch.failure_reason"));
    }

    [Fact]
    public void Settled_Success_TagsAnEmptyFailureReason()
    {
        var id = "metrics-" + Guid.NewGuid().ToString("N");

        var state = SettledState(id, BackgroundFetchResult.Success, BackgroundFetchFailureReason.None, RecordState.Success);

        _thread = Environment.CurrentManagedThreadId;
        FetchMetrics.Settled(state);

        var registration = Assert.Single(_measurements, static m => m.Instrument == "bgfetch.registrations.settled");
        Assert.Equal(new Dictionary<string, object?> { ["result"] = "success", ["failure_reason"] = "" }, registration.Tags);
        var record = Assert.Single(_measurements, static m => m.Instrument == "bgfetch.records.settled");
        Assert.Equal((1L, "success"), (record.Value, record.Tags["state"]));
        Assert.Equal("", SettleActivity(id).GetTagItem("bgfetch.failure_reason"));
    }

    public void Dispose()
    {
        _meterListener.Dispose();
        _activityListener.Dispose();
    }

    private Activity SettleActivity(string id)
    {
        lock (_activities)
        {
            var activity = Assert.Single(_activities, a => a.OperationName == "bgfetch.settle" && Equals(a.GetTagItem("bgfetch.id"), id));
            Assert.Equal(id, activity.GetTagItem("bgfetch.id"));
            return activity;
        }
    }

    private static RegistrationState SettledState(string id, BackgroundFetchResult result, BackgroundFetchFailureReason reason, params RecordState[] records)
    {
        var state = new RegistrationState();
        state.Apply(new FetchRegistered(
            "scope", id, "incarnation",
            [.. records.Select(static _ => new FetchRequest("http://example.com/", "GET", new Dictionary<string, string>(), null))],
            "title", [], 0, long.MaxValue, null, DateTimeOffset.UnixEpoch));
        for (var i = 0; i < records.Length; i++)
        {
            state.Apply(new RecordSettled(i, records[i], 0, null, null));
        }

        state.Apply(new RegistrationSettled(result, reason, DateTimeOffset.UnixEpoch));
        return state;
    }
}
