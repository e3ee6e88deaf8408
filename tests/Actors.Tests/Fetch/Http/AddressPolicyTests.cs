using System.Net;
using BgFetchCluster.Actors.Fetch.Http;

namespace BgFetchCluster.Actors.Tests.Fetch.Http;

/// <summary>The SSRF guard's classification, address by address (the connect path is tested in Node.Tests).</summary>
public sealed class AddressPolicyTests
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("10.0.0.1")]
    [InlineData("10.255.255.255")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.254")]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("169.254.169.254")]
    [InlineData("169.254.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.0.0.170")]
    [InlineData("192.168.1.1")]
    [InlineData("198.18.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("::127.0.0.1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("64:ff9b:1::a00:1")]
    [InlineData("2002:7f00:1::1")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456:789a::1")]
    [InlineData("fe80::1")]
    [InlineData("fe80::1%2")]
    [InlineData("fec0::1")]
    [InlineData("ff02::1")]
    [InlineData("fd00:ec2::254")]
    public void NonPublicAddresses_AreRefused_UnlessPrivateNetworksAreAllowed(string text)
    {
        var address = IPAddress.Parse(text);

        Assert.False(AddressGuard.IsPublic(address));
        Assert.NotNull(new AddressPolicy(allowPrivateNetworks: false).Refusal(address));
        Assert.Null(new AddressPolicy(allowPrivateNetworks: true).Refusal(address));
    }

    [Theory]
    [InlineData("1.1.1.1")]
    [InlineData("8.8.8.8")]
    [InlineData("93.184.216.34")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("169.253.255.255")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2a00:1450:4001:81b::200e")]
    public void PublicAddresses_AreAllowed(string text)
    {
        var address = IPAddress.Parse(text);

        Assert.True(AddressGuard.IsPublic(address));
        Assert.Null(new AddressPolicy(allowPrivateNetworks: false).Refusal(address));
    }

    [Fact]
    public void AllowedNetwork_OpensOnlyItsOwnRange()
    {
        var policy = new AddressPolicy(false, [IPNetwork.Parse("10.20.0.0/16")]);

        Assert.Null(policy.Refusal(IPAddress.Parse("10.20.3.4")));
        Assert.Null(policy.Refusal(IPAddress.Parse("::ffff:10.20.3.4")));
        Assert.NotNull(policy.Refusal(IPAddress.Parse("10.21.0.1")));
        Assert.NotNull(policy.Refusal(IPAddress.Parse("169.254.169.254")));
    }

    [Fact]
    public void DeniedNetwork_WinsOverAllowedAndPrivateAndPublic()
    {
        var policy = new AddressPolicy(true, [IPNetwork.Parse("10.0.0.0/8")], [IPNetwork.Parse("10.9.0.0/16"), IPNetwork.Parse("8.8.8.0/24")]);

        Assert.Contains("denied", policy.Refusal(IPAddress.Parse("10.9.1.1")), StringComparison.Ordinal);
        Assert.NotNull(policy.Refusal(IPAddress.Parse("::ffff:10.9.1.1")));
        Assert.NotNull(policy.Refusal(IPAddress.Parse("8.8.8.8")));
        Assert.Null(policy.Refusal(IPAddress.Parse("10.8.1.1")));
        Assert.Null(policy.Refusal(IPAddress.Parse("192.168.0.1")));
    }

    [Fact]
    public void Refusal_SaysWhy()
    {
        var why = new AddressPolicy(false).Refusal(IPAddress.Parse("169.254.169.254"));

        Assert.Equal("link-local (cloud metadata), not a public address", why);
    }
}
