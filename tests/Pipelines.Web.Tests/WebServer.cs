using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

using Pipelines.Testing;

namespace Pipelines.Web.Tests;

/// <summary>
/// A real <c>pipelines server</c> process over a throwaway database, serving the built web UI
/// (src/Pipelines.Web/dist), with the shipped workflows imported; workers are separate <c>pipelines worker</c>
/// processes so a test can kill one. People sign in with API keys (the login form) or with JWTs signed by the
/// server's configured key, as an OIDC issuer would mint them.
/// </summary>
public sealed class WebServer : IAsyncDisposable
{
    public const string Issuer = "https://issuer.pipelines.test";
    public const string Audience = "pipelines-api";

    private readonly List<CliProcess> _workers = new();
    private CliProcess? _server;

    public TestDatabase Database { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    public static string Root => TestPostgres.RepositoryRoot();
    public string ServerOutput => _server?.Output ?? "";

    public static async Task<WebServer> StartAsync()
    {
        var dist = Path.Combine(Root, "src", "Pipelines.Web", "dist", "index.html");
        if (!File.Exists(dist))
            Assert.Fail($"the web UI is not built ({dist} missing): run infra/test.sh, or (cd src/Pipelines.Web && npm ci && npx vite build)");
        // Until the server (its own issue) is in this build, there is nothing to drive: say so rather than fail.
        if (OverrideCli is null && Type.GetType("Pipelines.Cli.Commands.ServerCommand, pipelines") is null)
            Assert.Ignore("`pipelines server` is not in this build yet");
        var s = new WebServer { Database = await TestPostgres.CreateDatabaseAsync() };
        var port = FreePort();
        s.BaseAddress = new Uri($"http://127.0.0.1:{port}");
        s._server = Start(s.Environment(), Root, "server", "--urls", s.BaseAddress.ToString().TrimEnd('/'),
            "--workflows", Path.Combine(Root, "workflows"), "--workflows", Path.Combine(Root, "workflows", "examples"),
            "--web-root", Path.Combine(Root, "src", "Pipelines.Web", "dist"), "--db", s.Database.ConnectionString);
        using var http = new HttpClient { BaseAddress = s.BaseAddress };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            if (s._server.HasExited) Assert.Fail($"pipelines server exited:\n{s._server.Output}");
            try
            {
                using var r = await http.GetAsync("/readyz");
                if (r.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) Assert.Fail($"pipelines server not ready in 120 s:\n{s._server.Output}");
            await Task.Delay(200);
        }
        return s;
    }

    /// <summary>PIPELINES_WEB_TESTS_CLI: another build's pipelines.dll to drive (e.g. a server branch's), else ours.</summary>
    private static string? OverrideCli => System.Environment.GetEnvironmentVariable("PIPELINES_WEB_TESTS_CLI") is { Length: > 0 } p ? p : null;

    private static CliProcess Start(IReadOnlyDictionary<string, string> env, string workingDirectory, params string[] args) =>
        CliProcess.StartDll(OverrideCli ?? CliProcess.BuiltCli, env, workingDirectory, args);

    private Dictionary<string, string> Environment() => new()
    {
        ["PIPELINES_USER"] = "web-tests",
        ["PIPELINES_JWT_SIGNING_KEY"] = SigningKey,
        ["PIPELINES_JWT_ISSUER"] = Issuer,
        ["PIPELINES_OIDC_AUDIENCE"] = Audience,
        ["PIPELINES_HOME"] = Path.Combine(Path.GetTempPath(), "pipelines-web-tests-" + Database.Name),
    };

    /// <summary>Starts a worker process (short lease, so a killed one's steps are rescued quickly).</summary>
    public CliProcess StartWorker(int concurrency = 4, string lease = "4s", string heartbeat = "1s")
    {
        // Workers track and register models through the server's MLflow-compatible endpoint, as an operator.
        var env = Environment();
        env["MLFLOW_TRACKING_URI"] = BaseAddress.ToString().TrimEnd('/');
        env["MLFLOW_TRACKING_TOKEN"] = Token("worker", "operator");
        var w = Start(env, Root, "worker", "--concurrency", concurrency.ToString(), "--lease", lease, "--heartbeat", heartbeat,
            "--db", Database.ConnectionString);
        _workers.Add(w);
        return w;
    }

    /// <summary>An API key for a user, made with <c>pipelines keys create</c>; the user is then <c>key:NAME</c>.</summary>
    public async Task<string> CreateKeyAsync(string name, params string[] roles)
    {
        var args = new List<string> { "keys", "create", "--name", name };
        foreach (var r in roles) { args.Add("--role"); args.Add(r); }
        args.AddRange(["--db", Database.ConnectionString]);
        using var p = Start(Environment(), Root, args.ToArray());
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.That(code, Is.EqualTo(0), p.Output);
        return p.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last(l => l.StartsWith("pk_", StringComparison.Ordinal));
    }

    /// <summary>A JWT as the OIDC issuer would mint it (HS256 with the server's configured key).</summary>
    public string Token(string user, params string[] roles)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["aud"] = Audience, ["sub"] = user, ["preferred_username"] = user, ["roles"] = roles,
            ["iat"] = now, ["nbf"] = now - 60, ["exp"] = now + 3600,
        }));
        var sig = B64(HMACSHA256.HashData(Convert.FromBase64String(SigningKey), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{sig}";
    }

    public HttpClient Api(string user, params string[] roles)
    {
        var c = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(user, roles));
        return c;
    }

    public async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var r = await client.GetAsync(path);
        var body = await r.Content.ReadAsStringAsync();
        Assert.That(r.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"GET {path}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) w.Dispose();
        _server?.Terminate();
        if (_server is not null)
        {
            try { await _server.WaitForExitAsync(TimeSpan.FromSeconds(20)); } catch (TimeoutException) { }
            _server.Dispose();
        }
        await Database.DisposeAsync();
    }
}
