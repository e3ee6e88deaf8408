namespace BgFetchCluster.Actors.Fetch;

/// <summary>The Akka.Persistence plugin a node's journal runs on (docs/api.md, <c>BgFetch:Storage:Journal</c>).</summary>
public enum JournalPlugin
{
    /// <summary>The product's own batching plugin (one transaction per round trip across actors).</summary>
    BgFetch,

    /// <summary>Akka.Persistence.Sql (linq2db), with its standard schema and Akka.Persistence.Query.</summary>
    AkkaSql,
}
