using System.Text.Json.Serialization;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>The JSON the SQLite journal binds: the id list of a batched highest-sequence-number read.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
