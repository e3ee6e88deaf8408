namespace BgFetchCluster.Actors.Fetch;

/// <summary>Where a node keeps its journal (API.md, <c>BgFetch:Storage</c>).</summary>
public enum StorageProvider
{
    /// <summary>Embedded: one SQLite file under the data directory.</summary>
    Sqlite,

    /// <summary>PostgreSQL, shared by the nodes of a cluster.</summary>
    PostgreSql,
}
