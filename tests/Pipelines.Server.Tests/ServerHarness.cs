using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Pipelines.Activities;
using Pipelines.Api.Hosting;
using Pipelines.Engine.Workers;
using Pipelines.Postgres.Engine;
using Pipelines.Testing;

namespace Pipelines.Server.Tests;

/// <summary>
/// A real server on a loopback port over a throwaway database. Tokens are minted with the server's configured
/// signing key (no mocked authentication); every log line is captured so tests can look for leaked secrets.
/// </summary>
public sealed class ServerHarness : IAsyncDisposable
{
    public const string Issuer = "https://issuer.pipelines.test";
    public const string Audience = "pipelines-api";

    private readonly List<(CancellationTokenSource Stop, Task Task)> _workers = new();
    private readonly string _trackingRoot;

    private ServerHarness(TestDatabase db, PostgresEngineStore store, Pipelines.Core.Activities.ActivityRegistry registry, WebApplication app,
        string signingKey, Uri baseAddress, ConcurrentQueue<string> logs, string trackingRoot)
    {
        Database = db;
        Store = store;
        Registry = registry;
        App = app;
        SigningKey = signingKey;
        BaseAddress = baseAddress;
        Logs = logs;
        _trackingRoot = trackingRoot;
    }

    public TestDatabase Database { get; }
    public PostgresEngineStore Store { get; }
    public Pipelines.Core.Activities.ActivityRegistry Registry { get; }
    public WebApplication App { get; }
    public string SigningKey { get; }
    public Uri BaseAddress { get; }
    public ConcurrentQueue<string> Logs { get; }
    public Pipelines.Storage.IArtifactStore ArtifactStore { get; private init; } = null!;

    public static async Task<ServerHarness> StartAsync(bool local = false, IReadOnlyDictionary<string, IReadOnlyList<string>>? groupRoles = null,
        IReadOnlyList<WebhookSettings>? webhooks = null, string? otlp = null)
    {
        var db = await TestPostgres.CreateDatabaseAsync();
        var registry = BuiltinActivities.CreateRegistry();
        var store = new PostgresEngineStore(db.DataSource, registry);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var logs = new ConcurrentQueue<string>();
        var tracking = Path.Combine(Path.GetTempPath(), "pipelines-server-tests-" + Guid.NewGuid().ToString("N")[..8]);
        var artifacts = Pipelines.Storage.ArtifactStores.Open(Path.Combine(tracking, "store"), Path.Combine(tracking, "store"));
        var app = ApiServer.Build(new ApiServerOptions
        {
            DataSource = db.DataSource,
            Registry = registry,
            Store = store,
            ArtifactRegistry = new Pipelines.Postgres.Artifacts.PostgresArtifactRegistry(db.DataSource),
            SchemaVersion = Pipelines.Postgres.Migrations.Migrator.NewestVersion,
            TrackingArtifactRoot = tracking,
            Artifacts = artifacts,
            Urls = ["http://127.0.0.1:0"],
            Local = local,
            Auth = new AuthSettings
            {
                SigningKey = key,
                Issuer = Issuer,
                Audience = Audience,
                GroupRoles = groupRoles ?? new Dictionary<string, IReadOnlyList<string>>(),
            },
            Webhooks = webhooks ?? [],
            OtlpEndpoint = otlp,
            Logging = b =>
            {
                b.ClearProviders();
                b.SetMinimumLevel(LogLevel.Trace);
                b.AddFilter("Microsoft.AspNetCore", LogLevel.Debug);
                b.AddProvider(new CapturingLoggerProvider(logs));
            },
        });
        await ApiServer.StartAsync(app, CancellationToken.None);
        var address = new Uri(ApiServer.Addresses(app).First());
        return new ServerHarness(db, store, registry, app, key, address, logs, tracking) { ArtifactStore = artifacts };
    }

    /// <summary>A token as the OIDC issuer would mint it: name, roles and groups claims, signed with the configured key.</summary>
    public string Token(string user, IEnumerable<string>? roles = null, IEnumerable<string>? groups = null, string audience = Audience,
        DateTime? expires = null, string? key = null)
    {
        var claims = new List<Claim> { new("preferred_username", user), new("sub", user) };
        claims.AddRange((roles ?? []).Select(r => new Claim("roles", r)));
        claims.AddRange((groups ?? []).Select(g => new Claim("groups", g)));
        var now = DateTime.UtcNow;
        var exp = expires ?? now.AddMinutes(30);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Subject = new ClaimsIdentity(claims),
            IssuedAt = exp < now ? exp.AddMinutes(-10) : now,
            NotBefore = exp < now ? exp.AddMinutes(-10) : now.AddMinutes(-1),
            Expires = exp,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(key ?? SigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    public HttpClient Client(string? bearer = null, HttpMessageHandler? handler = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler);
        client.BaseAddress = BaseAddress;
        client.Timeout = TimeSpan.FromSeconds(60);
        if (bearer is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return client;
    }

    public HttpClient As(string user, params string[] roles) => Client(Token(user, roles));

    /// <summary>Starts in-process workers and a leader on the server's database.</summary>
    public async Task StartWorkersAsync(int concurrency = 4)
    {
        var stop = new CancellationTokenSource();
        var task = await PostgresEngineHost.StartAsync(Database.DataSource, Store, Registry,
            new WorkerOptions { Id = $"w{_workers.Count}", Concurrency = concurrency }, TimeSpan.FromMilliseconds(200), _ => { }, stop.Token);
        _workers.Add((stop, task));
    }

    public async Task<JsonObject> CreateWorkflowAsync(string yaml, string admin = "root")
    {
        using var client = As(admin, "admin");
        using var response = await client.PostAsJsonAsync("/api/v1/workflows", new { yaml });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body);
        return JsonNode.Parse(body)!.AsObject();
    }

    public async Task<Guid> StartRunAsync(string workflow, string user, object? parameters = null)
    {
        using var client = As(user, "operator");
        using var response = await client.PostAsJsonAsync("/api/v1/runs", new { workflow, @params = parameters ?? new { } });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body);
        return Guid.Parse(JsonNode.Parse(body)!["id"]!.GetValue<string>());
    }

    public async Task<JsonObject> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), $"GET {path}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public async Task<JsonObject> WaitForRunAsync(Guid id, Func<JsonObject, bool> done, string what)
    {
        using var client = As("watcher", "viewer");
        return await Eventually.WaitAsync(() => GetJsonAsync(client, $"/api/v1/runs/{id}"), done, TimeSpan.FromSeconds(60), what);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (stop, _) in _workers) await stop.CancelAsync();
        foreach (var (_, task) in _workers) await task;
        await App.StopAsync();
        await App.DisposeAsync();
        await Database.DisposeAsync();
        try { Directory.Delete(_trackingRoot, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

/// <summary>Keeps every formatted log line (with exception text) for the secrets test.</summary>
public sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);
    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var sb = new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                foreach (var (k, v) in values) sb.Append(" | ").Append(k).Append('=').Append(v);
            if (exception is not null) sb.Append(' ').Append(exception);
            lines.Enqueue(sb.ToString());
        }
    }
}
