namespace BgFetchCluster.Bench;

/// <summary>How much each scenario does and how often it runs; quick mode trades precision for time.</summary>
internal sealed record BenchSettings(bool Quick)
{
    /// <summary>Entities created per pass (docs/architecture.md, persistence throughput: 10,000).</summary>
    public int Entities { get; init; } = Quick ? 1_000 : 10_000;

    /// <summary>Asks in flight at once.</summary>
    public int InFlight { get; init; } = 200;

    /// <summary>Shards of the region: the product's default (<c>FetchNodeOptions.NumberOfShards</c>).</summary>
    public int Shards { get; init; } = 100;

    /// <summary>Measured passes after the unrecorded warm-up pass.</summary>
    public int Iterations => Quick ? 2 : 3;

    /// <summary>Writers of the journal-alone scenario, each writing <see cref="EventsPerWriter"/> events one by one.</summary>
    public int Writers => 100;

    public int EventsPerWriter => Quick ? 20 : 200;
}

/// <summary>The median of several measurements, with their spread for the record.</summary>
internal sealed record Sample(double Median, double Min, double Max)
{
    public static Sample Of(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Sample(median, sorted[0], sorted[^1]);
    }
}
