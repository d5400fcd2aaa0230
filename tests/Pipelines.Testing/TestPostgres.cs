using Npgsql;
using Pipelines.Postgres.Migrations;
using Pipelines.Postgres.Local;

namespace Pipelines.Testing;

/// <summary>
/// The PostgreSQL server tests use: the one named by PIPELINES_TEST_DB (an admin connection string), or a
/// private throwaway server under .pipelines/test-postgres in the repository, started on first use.
/// </summary>
public static class TestPostgres
{
    private static readonly Lazy<Task<string>> Admin = new(StartAsync);

    public static Task<string> AdminConnectionStringAsync() => Admin.Value;

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Pipelines.sln) not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable("PIPELINES_TEST_DB");
        if (!string.IsNullOrEmpty(configured)) return configured;
        var server = new LocalPostgres(Path.Combine(RepositoryRoot(), ".pipelines", "test-postgres"), durable: false);
        return await server.EnsureStartedAsync("postgres");
    }

    /// <summary>A new database with the current schema (or none, when <paramref name="migrate"/> is false); dropped when disposed.</summary>
    public static async Task<TestDatabase> CreateDatabaseAsync(bool migrate = true)
    {
        var admin = await AdminConnectionStringAsync();
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 60 }.ConnectionString;
        var db = Pipelines.Postgres.PostgresDataSource.Create(cs);
        if (migrate) await Migrator.ApplyAsync(db);
        return new TestDatabase(admin, name, cs, db);
    }
}

public sealed class TestDatabase(string admin, string name, string connectionString, NpgsqlDataSource dataSource) : IAsyncDisposable
{
    public string Name { get; } = name;
    public string ConnectionString { get; } = connectionString;
    public NpgsqlDataSource DataSource { get; } = dataSource;

    public async Task<T> ScalarAsync<T>(string sql, params (string, object)[] args)
    {
        await using var conn = await DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task<int> ExecAsync(string sql, params (string, object)[] args)
    {
        await using var conn = await DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
