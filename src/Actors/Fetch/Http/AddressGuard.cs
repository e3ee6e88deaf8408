using System.Net;
using System.Net.Sockets;

namespace BgFetchCluster.Actors.Fetch.Http;

/// <summary>A connection was refused because its target address is not allowed (SSRF guard).</summary>
public sealed class TargetRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// Classifies addresses for the connect-time SSRF guard (DESIGN.md, "Fetcher"): loopback, private,
/// link-local (the cloud metadata address among them), CGNAT, multicast, unspecified and IPv6 forms
/// that embed IPv4 are refused unless private networks are allowed.
/// </summary>
public static class AddressGuard
{
    /// <summary>True when <paramref name="address"/> is a public unicast address.</summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return !(b[0] == 0 // "this network"
                || b[0] == 10
                || b[0] == 127
                || (b[0] == 100 && (b[1] & 0xC0) == 64) // CGNAT 100.64.0.0/10
                || (b[0] == 169 && b[1] == 254) // link-local, 169.254.169.254 metadata
                || (b[0] == 172 && (b[1] & 0xF0) == 16)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0) // IETF protocol assignments
                || (b[0] == 198 && (b[1] & 0xFE) == 18) // benchmarking
                || b[0] >= 224); // multicast and reserved, broadcast
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (IPAddress.IPv6Loopback.Equals(address) || IPAddress.IPv6Any.Equals(address)
                || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6Teredo)
            {
                return false;
            }

            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            return !((b[0] & 0xFE) == 0xFC // unique local fc00::/7
                || (b[0] == 0x20 && b[1] == 0x02) // 6to4 2002::/16 embeds IPv4
                || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B) // NAT64 64:ff9b::/96
                || b[..12].IndexOfAnyExcept((byte)0) < 0); // IPv4-compatible ::a.b.c.d
        }

        return false;
    }
}
