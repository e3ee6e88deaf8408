namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>Where response bodies live (<c>BgFetch:Storage:Bodies</c>).</summary>
public enum BodyStore
{
    /// <summary>Files under the data directory, or under a directory every node mounts (<see cref="DiskResponseStore"/>).</summary>
    Files,

    /// <summary>Chunks in the journal's PostgreSQL database, readable by every node (<see cref="PostgreSqlResponseStore"/>).</summary>
    PostgreSql,
}
