using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Fetch.Storage;
using BgFetchCluster.Node.Configuration;
using Microsoft.Extensions.Configuration;

namespace BgFetchCluster.Node.Tests;

/// <summary><c>BgFetch:Storage:Bodies</c>: the provider's default, an explicit choice, and what is refused.</summary>
public sealed class BodyStoreSettingsTests
{
    private const string PostgreSqlConnection = "Host=db;Username=bgfetch;Password=secret;Database=bgfetch";

    [Fact]
    public void Bodies_Unset_AreFilesWithSqliteAndPostgreSqlWithPostgreSql()
    {
        var sqlite = new BgFetchSettings();
        var postgres = new BgFetchSettings { Storage = new StorageSettings { Provider = StorageProvider.PostgreSql, ConnectionString = PostgreSqlConnection } };

        sqlite.Validate(isDevelopment: true);
        postgres.Validate(isDevelopment: true);

        Assert.Equal(BodyStore.Files, sqlite.ToNodeOptions(isDevelopment: true).EffectiveBodies);
        Assert.Equal(BodyStore.PostgreSql, postgres.ToNodeOptions(isDevelopment: true).EffectiveBodies);
    }

    [Fact]
    public void Bodies_FromConfiguration_ReachTheNode()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["BgFetch:Storage:Provider"] = "PostgreSql",
                ["BgFetch:Storage:ConnectionString"] = PostgreSqlConnection,
                ["BgFetch:Storage:Bodies"] = "Files",
            })
            .Build();

        var settings = configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>()!;
        settings.Validate(isDevelopment: true);

        Assert.Equal(BodyStore.Files, settings.ToNodeOptions(isDevelopment: true).EffectiveBodies);
    }

    [Fact]
    public void Bodies_PostgreSqlWithTheSqliteProvider_IsRefusedNamingTheKeys()
    {
        var settings = new BgFetchSettings { Storage = new StorageSettings { Bodies = BodyStore.PostgreSql } };

        var failure = Assert.Throws<InvalidOperationException>(() => settings.Validate(isDevelopment: true));

        Assert.Contains("BgFetch:Storage:Bodies", failure.Message, StringComparison.Ordinal);
        Assert.Contains("BgFetch:Storage:Provider=PostgreSql", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bodies_PostgreSqlWithoutAConnectionString_IsRefused()
    {
        var settings = new BgFetchSettings { Storage = new StorageSettings { Provider = StorageProvider.PostgreSql } };

        var failure = Assert.Throws<InvalidOperationException>(() => settings.Validate(isDevelopment: true));

        Assert.Contains("BgFetch:Storage:ConnectionString", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PostgreSqlConnection, "public")]
    [InlineData(PostgreSqlConnection + ";Search Path=tenant_a", "tenant_a")]
    [InlineData(PostgreSqlConnection + ";Search Path=\"tenant_b, public\"", "tenant_b")]
    public void PostgreSqlSchema_IsTheFirstEntryOfTheSearchPath(string connectionString, string schema)
    {
        var options = new FetchNodeOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString };

        Assert.Equal(schema, options.PostgreSqlSchema);
    }
}
