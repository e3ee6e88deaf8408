using BgFetchCluster.Actors.Fetch;

namespace BgFetchCluster.Node.Configuration;

/// <summary>The <c>BgFetch</c> configuration section (API.md, "Configuration").</summary>
public sealed class BgFetchSettings
{
    /// <summary>Section name.</summary>
    public const string SectionName = "BgFetch";

    /// <summary><c>BgFetch:Storage</c>.</summary>
    public StorageSettings Storage { get; set; } = new();

    /// <summary><c>BgFetch:Fetch</c>.</summary>
    public FetchSettings Fetch { get; set; } = new();

    /// <summary><c>BgFetch:Limits</c>.</summary>
    public FetchLimits Limits { get; set; } = new();

    /// <summary><c>BgFetch:Retention</c>: how long settled records stay available.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    /// <summary><c>BgFetch:Auth</c>.</summary>
    public AuthSettings Auth { get; set; } = new();

    /// <summary>The node options these settings describe.</summary>
    public FetchNodeOptions ToNodeOptions(bool isDevelopment) => new()
    {
        Provider = Storage.Provider,
        ConnectionString = Storage.ConnectionString,
        DataDirectory = Storage.DataDirectory,
        Limits = Limits,
        Retention = Retention,
        Fetch = new FetchOptions
        {
            AllowPrivateNetworks = Fetch.AllowPrivateNetworks ?? isDevelopment,
            ConnectTimeout = Fetch.ConnectTimeout,
            IdleTimeout = Fetch.IdleTimeout,
            MaxAttempts = Fetch.MaxAttempts,
            RetryBaseDelay = Fetch.RetryBaseDelay,
        },
    };

    /// <summary>Refuses settings a node cannot run with, naming the key to fix.</summary>
    public void Validate(bool isDevelopment)
    {
        if (!isDevelopment && Auth.ApiKeys.Count == 0)
        {
            throw new InvalidOperationException(
                "No API keys are configured (BgFetch:Auth:ApiKeys:{key} = scope). A node outside Development refuses to start without them.");
        }

        if (Limits.ScopeQuotaBytes <= 0 || Limits.MaxActiveRegistrationsPerScope <= 0 || Limits.MaxRequestsPerRegistration <= 0)
        {
            throw new InvalidOperationException("BgFetch:Limits values must be positive.");
        }

        if (Fetch.MaxAttempts < 1 || Fetch.ConnectTimeout <= TimeSpan.Zero || Fetch.IdleTimeout <= TimeSpan.Zero || Fetch.RetryBaseDelay < TimeSpan.Zero)
        {
            throw new InvalidOperationException("BgFetch:Fetch: MaxAttempts must be at least 1 and the timeouts positive.");
        }

        if (Retention <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("BgFetch:Retention must be positive.");
        }
    }
}

/// <summary><c>BgFetch:Storage</c>.</summary>
public sealed class StorageSettings
{
    /// <summary><c>Sqlite</c> or <c>PostgreSql</c>.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>The database; SQLite defaults to a file under the data directory.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Journal file and bodies of an embedded node.</summary>
    public string DataDirectory { get; set; } = "./data";
}

/// <summary><c>BgFetch:Fetch</c>.</summary>
public sealed class FetchSettings
{
    /// <summary>Allow private targets; unset means true in Development only.</summary>
    public bool? AllowPrivateNetworks { get; set; }

    /// <summary>Connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle-read timeout.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Attempts per GET record.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary><c>BgFetch:Auth</c>: API keys and the scope each opens.</summary>
public sealed class AuthSettings
{
    /// <summary>Key to scope.</summary>
    public Dictionary<string, string> ApiKeys { get; set; } = new(StringComparer.Ordinal);
}
