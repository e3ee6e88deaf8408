using System.Net;
using System.Net.Sockets;

namespace BgFetchCluster.Actors.Fetch.Http;

/// <summary>A connection was refused because its target address is not allowed (SSRF guard).</summary>
public sealed class TargetRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// Classifies addresses for the connect-time SSRF guard (docs/architecture.md, "Fetcher"): loopback, private,
/// link-local (the cloud metadata address among them), CGNAT, multicast, unspecified, reserved and
/// IPv6 forms that embed IPv4 (mapped, compatible, NAT64, 6to4, Teredo) are not public.
/// </summary>
public static class AddressGuard
{
    /// <summary>Every range that is not public unicast, with why; an address in none of them is public.</summary>
    public static IReadOnlyList<(IPNetwork Network, string Why)> NonPublicNetworks { get; } =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "this network"),
        (IPNetwork.Parse("10.0.0.0/8"), "private (RFC 1918)"),
        (IPNetwork.Parse("100.64.0.0/10"), "carrier-grade NAT"),
        (IPNetwork.Parse("127.0.0.0/8"), "loopback"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local (cloud metadata)"),
        (IPNetwork.Parse("172.16.0.0/12"), "private (RFC 1918)"),
        (IPNetwork.Parse("192.0.0.0/24"), "IETF protocol assignments"),
        (IPNetwork.Parse("192.0.2.0/24"), "documentation"),
        (IPNetwork.Parse("192.88.99.0/24"), "6to4 relay anycast"),
        (IPNetwork.Parse("192.168.0.0/16"), "private (RFC 1918)"),
        (IPNetwork.Parse("198.18.0.0/15"), "benchmarking"),
        (IPNetwork.Parse("198.51.100.0/24"), "documentation"),
        (IPNetwork.Parse("203.0.113.0/24"), "documentation"),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved and broadcast"),
        (IPNetwork.Parse("::/96"), "unspecified, loopback or IPv4-compatible"),
        (IPNetwork.Parse("64:ff9b::/96"), "NAT64"),
        (IPNetwork.Parse("64:ff9b:1::/48"), "local-use NAT64"),
        (IPNetwork.Parse("100::/64"), "discard-only"),
        (IPNetwork.Parse("2001::/32"), "Teredo"),
        (IPNetwork.Parse("2001:db8::/32"), "documentation"),
        (IPNetwork.Parse("2002::/16"), "6to4"),
        (IPNetwork.Parse("fc00::/7"), "unique local"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("fec0::/10"), "site-local"),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
    ];

    /// <summary>True when <paramref name="address"/> is a public unicast address.</summary>
    public static bool IsPublic(IPAddress address) => WhyNotPublic(address) is null;

    /// <summary>Why <paramref name="address"/> is not public, or null when it is.</summary>
    public static string? WhyNotPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            return "not an IP address";
        }

        // Checked apart: IPNetwork.Contains may compare a mapped address as the IPv4 address it carries.
        if (address.IsIPv4MappedToIPv6)
        {
            return "IPv4-mapped";
        }

        foreach (var (network, why) in NonPublicNetworks)
        {
            if (network.Contains(address))
            {
                return why;
            }
        }

        return null;
    }
}

/// <summary>
/// Which addresses the fetcher may connect to: a denied range always refuses; then an allowed range
/// accepts; then public addresses are accepted, and the others only when private networks are allowed.
/// IPv4 addresses embedded in IPv6 (mapped) are matched against IPv4 ranges as well.
/// </summary>
public sealed class AddressPolicy
{
    private readonly IReadOnlyList<IPNetwork> _allowed;
    private readonly IReadOnlyList<IPNetwork> _denied;

    /// <summary>Creates a policy.</summary>
    public AddressPolicy(bool allowPrivateNetworks, IReadOnlyList<IPNetwork>? allowedNetworks = null, IReadOnlyList<IPNetwork>? deniedNetworks = null)
    {
        AllowPrivateNetworks = allowPrivateNetworks;
        _allowed = allowedNetworks ?? [];
        _denied = deniedNetworks ?? [];
    }

    /// <summary>Whether non-public addresses are allowed (outside the denied ranges).</summary>
    public bool AllowPrivateNetworks { get; }

    /// <summary>Why a connection to <paramref name="address"/> is refused, or null when it is allowed.</summary>
    public string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (Matches(_denied, address) is { } denied)
        {
            return $"in the denied network {denied} (BgFetch:Fetch:DeniedNetworks)";
        }

        if (Matches(_allowed, address) is not null || AllowPrivateNetworks)
        {
            return null;
        }

        return AddressGuard.WhyNotPublic(address) is { } why ? $"{why}, not a public address" : null;
    }

    private static IPNetwork? Matches(IReadOnlyList<IPNetwork> networks, IPAddress address)
    {
        var mapped = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : null;
        foreach (var network in networks)
        {
            if (network.Contains(address) || (mapped is not null && network.Contains(mapped)))
            {
                return network;
            }
        }

        return null;
    }
}
