using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>A temporary SQLite file for one test class, deleted (with its WAL files) afterwards.</summary>
public sealed class SqliteTestDatabase<TTests> : IDisposable
{
    public SqliteTestDatabase()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bgfetch-{typeof(TTests).Name}-{Guid.NewGuid():N}.db");
        FilePath = path;
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = path }.ToString();
    }

    public string FilePath { get; }

    public string ConnectionString { get; }

    public void Dispose()
    {
        // Pooled connections keep the file open; release them before deleting it.
        using (var connection = new SqliteConnection(ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(FilePath + suffix);
        }
    }
}
