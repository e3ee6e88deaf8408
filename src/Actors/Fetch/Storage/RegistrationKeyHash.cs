using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>The name a body store gives a registration: the SHA-256 of its key, never the client-chosen key itself.</summary>
internal static class RegistrationKeyHash
{
    /// <summary>Returns the SHA-256 of the key's UTF-16 code units (little-endian).</summary>
    /// <remarks>
    /// UTF-16 rather than UTF-8 because encoding to UTF-8 replaces unpaired surrogates with U+FFFD, which would map
    /// distinct hostile keys to one name; the code units are an injective encoding of every string (NUL included,
    /// which PostgreSQL text cannot hold).
    /// </remarks>
    public static byte[] Sha256(string registrationKey)
    {
        var bytes = registrationKey.Length <= 512 ? stackalloc byte[registrationKey.Length * 2] : new byte[registrationKey.Length * 2];
        for (var i = 0; i < registrationKey.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes[(i * 2)..], registrationKey[i]);
        }

        return SHA256.HashData(bytes);
    }

    /// <summary>Returns the lowercase hex SHA-256 of the key (see <see cref="Sha256"/>).</summary>
    public static string Hex(string registrationKey) => Convert.ToHexStringLower(Sha256(registrationKey));
}
