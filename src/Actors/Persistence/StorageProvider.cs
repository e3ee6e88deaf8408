// The enum lives with the persistence it selects, but keeps its original namespace so the node's
// configuration binding (src/Node) and the fetch domain compile unchanged.
namespace BgFetchCluster.Actors.Fetch;

/// <summary>Where a node keeps its journal and snapshots (docs/api.md, <c>BgFetch:Storage</c>).</summary>
public enum StorageProvider
{
    /// <summary>Embedded: one SQLite file under the data directory.</summary>
    Sqlite,

    /// <summary>PostgreSQL, shared by the nodes of a cluster.</summary>
    PostgreSql,
}
