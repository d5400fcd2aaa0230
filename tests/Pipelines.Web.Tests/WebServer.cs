using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

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

    private readonly List<ChildProcess> _workers = new();
    private ChildProcess? _server;

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
        if (ChildProcess.OverrideCli is null && Type.GetType("Pipelines.Cli.Commands.ServerCommand, pipelines") is null)
            Assert.Ignore("`pipelines server` is not in this build yet");
        var s = new WebServer { Database = await TestPostgres.CreateDatabaseAsync() };
        var port = FreePort();
        s.BaseAddress = new Uri($"http://127.0.0.1:{port}");
        s._server = ChildProcess.Start(s.Environment(), Root, "server", "--urls", s.BaseAddress.ToString().TrimEnd('/'),
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

    private Dictionary<string, string> Environment() => new()
    {
        ["PIPELINES_JWT_SIGNING_KEY"] = SigningKey,
        ["PIPELINES_JWT_ISSUER"] = Issuer,
        ["PIPELINES_OIDC_AUDIENCE"] = Audience,
        ["PIPELINES_HOME"] = Path.Combine(Path.GetTempPath(), "pipelines-web-tests-" + Database.Name),
    };

    /// <summary>Starts a worker process (short lease, so a killed one's steps are rescued quickly).</summary>
    public ChildProcess StartWorker(int concurrency = 4, string lease = "4s", string heartbeat = "1s")
    {
        var w = ChildProcess.Start(Environment(), Root, "worker", "--concurrency", concurrency.ToString(), "--lease", lease, "--heartbeat", heartbeat,
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
        using var p = ChildProcess.Start(Environment(), Root, args.ToArray());
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

/// <summary>A <c>pipelines</c> process from the built CLI next to the tests, output captured.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _stdout = new();

    private ChildProcess(Process p)
    {
        _process = p;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) { _output.AppendLine(e.Data); _stdout.AppendLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
    }

    /// <summary>PIPELINES_WEB_TESTS_CLI: another build's pipelines.dll to drive (e.g. a server branch's), else ours.</summary>
    public static string? OverrideCli => System.Environment.GetEnvironmentVariable("PIPELINES_WEB_TESTS_CLI") is { Length: > 0 } p ? p : null;

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Output { get { lock (_output) return _output.ToString(); } }
    public string StandardOutput { get { lock (_output) return _stdout.ToString(); } }

    public static ChildProcess Start(IReadOnlyDictionary<string, string> env, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        psi.ArgumentList.Add(OverrideCli ?? Path.Combine(AppContext.BaseDirectory, "pipelines.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PIPELINES_USER"] = "web-tests";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return new ChildProcess(Process.Start(psi)!);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"process did not exit within {timeout}; output:\n{Output}"); }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process gets no chance to hand its leases back, as when a machine dies.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: false);

    public void Terminate()
    {
        if (_process.HasExited) return;
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
