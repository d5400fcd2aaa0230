using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pipelines.Testing;

/// <summary>
/// The real MLflow tracking server (2.17, Python, sqlite store and artifact proxy) from ../shared/mlflow-server, in
/// a temp folder on a free loopback port, and its Python client. <see cref="SharedAsync"/> starts one per test run
/// (each test assembly's set-up fixture stops it with <see cref="StopSharedAsync"/>; process exit stops it too);
/// <see cref="StartNewAsync"/> starts a private one (e.g. to stop it mid-test).
/// </summary>
public sealed class RealMlflow : IAsyncDisposable
{
    private static readonly SemaphoreSlim SharedLock = new(1, 1);
    private static RealMlflow? _shared;

    private RealMlflow(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    /// <summary>The folder holding mlflow.db, artifacts/ and server.log.</summary>
    public string Directory { get; }
    public int Port { get; }
    public string Uri => $"http://127.0.0.1:{Port}";
    public bool Running { get; private set; }

    /// <summary>The <c>mlflow-server</c> script: PIPELINES_MLFLOW_SERVER, else ../shared/mlflow-server beside the repository.</summary>
    public static string Script =>
        Environment.GetEnvironmentVariable("PIPELINES_MLFLOW_SERVER") is { Length: > 0 } s ? s
        : Path.GetFullPath(Path.Combine(TestPostgres.RepositoryRoot(), "..", "shared", "mlflow-server", "mlflow-server"));

    /// <summary>The server of this test run, started on first use.</summary>
    public static async Task<RealMlflow> SharedAsync()
    {
        await SharedLock.WaitAsync();
        try
        {
            if (_shared is { Running: true }) return _shared;
            _shared = await StartNewAsync();
            var started = _shared;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => started.StopAsync().GetAwaiter().GetResult();
            return _shared;
        }
        finally
        {
            SharedLock.Release();
        }
    }

    /// <summary>Stops the shared server if one was started (call from a [SetUpFixture]'s one-time tear-down).</summary>
    public static async Task StopSharedAsync()
    {
        await SharedLock.WaitAsync();
        try
        {
            if (_shared is not null) await _shared.StopAsync();
            _shared = null;
        }
        finally
        {
            SharedLock.Release();
        }
    }

    public static async Task<RealMlflow> StartNewAsync(string? directory = null)
    {
        var server = new RealMlflow(directory ?? System.IO.Directory.CreateTempSubdirectory("mlflow-").FullName, FreePort());
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (or restarts, same port and folder, so runs and models survive) the server; returns when /health answers.</summary>
    public async Task StartAsync()
    {
        var result = await RunAsync(Script, ["start", Directory, Port.ToString()], null, TimeSpan.FromMinutes(5));
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"mlflow-server start failed ({result.ExitCode}): {result.Stderr}\n{ServerLog()}");
        Running = true;
    }

    public async Task StopAsync()
    {
        if (!Running) return;
        Running = false;
        await RunAsync(Script, ["stop", Directory], null, TimeSpan.FromMinutes(1));
        // The process group got SIGTERM; wait until the port is free so a restart on it cannot collide.
        for (var i = 0; i < 200 && PortOpen(Port); i++) await Task.Delay(50);
    }

    public string ServerLog()
    {
        var log = Path.Combine(Directory, "server.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(40)) : "";
    }

    /// <summary>
    /// Runs a Python script with MLflow's client importable (Debian's python3, as <c>mlflow-server python</c>);
    /// MLFLOW_TRACKING_URI is this server unless <paramref name="environment"/> says otherwise. Fails with the
    /// script's stderr when it exits non-zero; returns its stdout.
    /// </summary>
    public Task<string> PythonAsync(string scriptPath, IReadOnlyList<string>? args = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var env = new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = Uri };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) env[k] = v;
        return Python(scriptPath, args, env);
    }

    /// <summary>As <see cref="PythonAsync"/>, without a server (MLFLOW_TRACKING_URI only when given).</summary>
    public static async Task<string> Python(string scriptPath, IReadOnlyList<string>? args = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var result = await RunAsync(Script, ["python", scriptPath, .. args ?? []], environment, TimeSpan.FromMinutes(10));
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"python {Path.GetFileName(scriptPath)} failed ({result.ExitCode}):\n{result.Stderr}\n{result.Stdout}");
        return result.Stdout;
    }

    /// <summary>As <see cref="Python"/>, with the exit code and both streams instead of throwing.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> TryPython(string scriptPath, IReadOnlyList<string>? args = null,
        IReadOnlyDictionary<string, string>? environment = null) =>
        RunAsync(Script, ["python", scriptPath, .. args ?? []], environment, TimeSpan.FromMinutes(10));

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        if (!File.Exists(file)) throw new InvalidOperationException($"the real MLflow server is not available ({file}); see ../shared/mlflow-server/README.md");
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static bool PortOpen(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
