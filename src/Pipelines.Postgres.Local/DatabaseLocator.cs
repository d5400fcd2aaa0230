using System.Text.Json;

namespace Pipelines.Postgres.Local;

/// <summary>
/// Which database a process uses, first match wins: an explicit connection string (<c>--db</c>), the
/// <c>PIPELINES_DB</c> environment variable, the <c>database</c> field of the config file
/// (<c>PIPELINES_CONFIG</c>, default <c>./pipelines.json</c>), else the private local server in the state
/// folder (<c>PIPELINES_HOME</c>, default <c>./.pipelines</c>), provisioned on first use.
/// </summary>
public static class DatabaseLocator
{
    public static async Task<string> ResolveAsync(string? explicitConnectionString, Action<string>? log = null, CancellationToken ct = default)
    {
        if (!string.IsNullOrWhiteSpace(explicitConnectionString)) return explicitConnectionString;
        var env = Environment.GetEnvironmentVariable("PIPELINES_DB");
        if (!string.IsNullOrWhiteSpace(env)) return env;

        var configPath = Environment.GetEnvironmentVariable("PIPELINES_CONFIG") ?? Path.Combine(Directory.GetCurrentDirectory(), "pipelines.json");
        if (File.Exists(configPath))
        {
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(configPath, ct));
            if (doc.RootElement.TryGetProperty("database", out var db) && db.ValueKind == JsonValueKind.String)
                return db.GetString()!;
        }
        return await new LocalPostgres(StateDirectory(), durable: true, log).EnsureStartedAsync("pipelines", ct);
    }

    public static string StateDirectory() =>
        Environment.GetEnvironmentVariable("PIPELINES_HOME") is { Length: > 0 } home ? home : Path.Combine(Directory.GetCurrentDirectory(), ".pipelines");
}
