using System.Text.Json;
using System.Text.Json.Serialization;

namespace BgFetchCluster.Messages.Fetch.Api;

/// <summary>Source-generated JSON for the HTTP API's bodies (camelCase, as docs/api.md writes them).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, AllowTrailingCommas = false, MaxDepth = 32, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(CreateRegistrationBody))]
[JsonSerializable(typeof(RequestBody))]
[JsonSerializable(typeof(UpdateUiBody))]
[JsonSerializable(typeof(RegistrationView))]
[JsonSerializable(typeof(RecordView))]
[JsonSerializable(typeof(IdsBody))]
[JsonSerializable(typeof(AbortBody))]
[JsonSerializable(typeof(RecordsBody))]
[JsonSerializable(typeof(RecordBody))]
[JsonSerializable(typeof(NotificationBody))]
[JsonSerializable(typeof(ClusterBody))]
[JsonSerializable(typeof(ShardingBody))]
[JsonSerializable(typeof(MemberAddressBody))]
[JsonSerializable(typeof(AdminRegistrationsBody))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
