using Npgsql;
using NpgsqlTypes;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>One record's body as <see cref="PostgreSqlResponseStore"/> addresses it: the hashed key and the record index.</summary>
/// <param name="RegistrationKey">The registration, as the caller named it (for errors).</param>
/// <param name="RecordIndex">The record, or -1 for the whole registration.</param>
internal sealed record BodyRecord(string RegistrationKey, int RecordIndex)
{
    /// <summary>The stored key: the SHA-256 of <see cref="RegistrationKey"/>.</summary>
    public byte[] KeyHash { get; } = RegistrationKeyHash.Sha256(RegistrationKey);

    /// <summary>Adds <c>@key</c>.</summary>
    public void AddRegistration(NpgsqlParameterCollection parameters) =>
        parameters.Add(new NpgsqlParameter<byte[]>("key", NpgsqlDbType.Bytea) { TypedValue = KeyHash });

    /// <summary>Adds <c>@key</c> and <c>@index</c>.</summary>
    public void AddKey(NpgsqlParameterCollection parameters)
    {
        AddRegistration(parameters);
        parameters.Add(new NpgsqlParameter<int>("index", NpgsqlDbType.Integer) { TypedValue = RecordIndex });
    }
}
