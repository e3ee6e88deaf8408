using System.Text.Json;
using System.Text.Json.Serialization;

namespace BgFetchCluster.Cli;

/// <summary>JSON the tool writes besides the API's own bodies.</summary>
[JsonSerializable(typeof(Dictionary<string, IReadOnlyList<JsonElement>>))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
