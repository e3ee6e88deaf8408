using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence.Plugin;
using BgFetchCluster.Node.Configuration;
using Microsoft.Extensions.Configuration;

namespace BgFetchCluster.Node.Tests;

/// <summary><c>BgFetch:Storage:JournalLinger</c>: its default, the way to the journal plugin's HOCON, and what is refused.</summary>
public sealed class JournalLingerSettingsTests
{
    [Fact]
    public void JournalLinger_Unset_IsZeroWithEitherProvider_InThePluginsHocon()
    {
        var sqlite = new BgFetchSettings();
        var postgres = new BgFetchSettings
        {
            Storage = new StorageSettings { Provider = StorageProvider.PostgreSql, ConnectionString = "Host=db;Username=bgfetch;Password=secret;Database=bgfetch" },
        };
        sqlite.Validate(isDevelopment: true);
        postgres.Validate(isDevelopment: true);

        Assert.Equal(TimeSpan.Zero, LingerInHocon(sqlite.ToNodeOptions(isDevelopment: true).JournalLinger));
        Assert.Equal(TimeSpan.Zero, LingerInHocon(postgres.ToNodeOptions(isDevelopment: true).JournalLinger));
    }

    [Fact]
    public void JournalLinger_FromConfiguration_ReachesTheNode_AndThePluginsHocon()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["BgFetch:Storage:JournalLinger"] = "00:00:00.0015" })
            .Build();

        var settings = configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>()!;
        settings.Validate(isDevelopment: true);
        var options = settings.ToNodeOptions(isDevelopment: true);

        Assert.Equal(TimeSpan.FromMilliseconds(1.5), options.JournalLinger);
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), LingerInHocon(options.JournalLinger));
    }

    [Theory]
    [InlineData("-00:00:00.001")]
    [InlineData("00:00:00.101")]
    public void JournalLinger_NegativeOrOverTheBound_IsRefusedNamingTheKey(string value)
    {
        var settings = new BgFetchSettings { Storage = new StorageSettings { JournalLinger = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) } };

        var failure = Assert.Throws<InvalidOperationException>(() => settings.Validate(isDevelopment: true));

        Assert.Contains("BgFetch:Storage:JournalLinger", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>The <c>linger</c> the product's journal plugin reads from the HOCON the node composes.</summary>
    private static TimeSpan LingerInHocon(TimeSpan linger) =>
        BgFetchPersistence.Config(StorageProvider.Sqlite, "Data Source=journal.db", linger: linger)
            .GetConfig(BgFetchPersistence.JournalPluginId)
            .GetTimeSpan("linger");
}
