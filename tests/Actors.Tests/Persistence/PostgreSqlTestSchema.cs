using Npgsql;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// A fresh PostgreSQL schema for one test class (named after it, plus a random suffix), dropped
/// afterwards. Without BGFETCH_TEST_POSTGRES every test of the class fails: a silent skip would
/// report a green suite that never touched PostgreSQL.
/// </summary>
public sealed class PostgreSqlTestSchema<TTests> : IAsyncLifetime
{
    public const string EnvironmentVariable = "BGFETCH_TEST_POSTGRES";

    public PostgreSqlTestSchema()
    {
        var connectionString = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set: run scripts/test.sh (it starts a local PostgreSQL and sets it), "
                + "or set it to an Npgsql connection string of a database these tests may create schemas in.");
        }

        DataSource = NpgsqlDataSource.Create(connectionString);
        Schema = $"{typeof(TTests).Name.ToLowerInvariant()}_{Guid.NewGuid().ToString("N")[..8]}";
        SearchPathConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = Schema }.ConnectionString;
    }

    public NpgsqlDataSource DataSource { get; }

    public string Schema { get; }

    /// <summary>The connection string with the schema as its search path: a node's <c>BgFetch:Storage:ConnectionString</c>.</summary>
    public string SearchPathConnectionString { get; }

    /// <summary>Runs one statement (or several) on the database, outside the schema's search path.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await using (var command = DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE;"))
        {
            await command.ExecuteNonQueryAsync();
        }

        await DataSource.DisposeAsync();
    }
}
