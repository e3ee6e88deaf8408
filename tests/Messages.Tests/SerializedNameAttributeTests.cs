namespace BgFetchCluster.Messages.Tests;

public sealed class SerializedNameAttributeTests
{
    [Fact]
    public void Name_IsTheGivenManifest()
    {
        var attribute = new SerializedNameAttribute("bgfetch.test.v1");

        Assert.Equal("bgfetch.test.v1", attribute.Name);
    }
}
