using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Pipelines.Testing;

/// <summary>
/// Azurite's blob service (the npm package in tests/node) on a free loopback port with its data in a temp
/// folder. <see cref="StopAsync"/> stops it the way an operator would (SIGTERM); <see cref="StartAsync"/>
/// restarts it on the same port and folder, so stored data survives a restart.
/// </summary>
public sealed partial class AzuriteServer : IAsyncDisposable
{
    public const string Account = "devstoreaccount1";
    public const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private Process? _process;
    private readonly System.Text.StringBuilder _output = new();

    private readonly string[] _extraArgs;

    private AzuriteServer(int port, string location, string[] extraArgs)
    {
        Port = port;
        Location = location;
        _extraArgs = extraArgs;
    }

    public int Port { get; }
    /// <summary>How long a start waits for the port to be released before it fails naming the port.</summary>
    public TimeSpan PortWait { get; set; } = TimeSpan.FromMinutes(1);
    public string Location { get; }
    /// <summary>https when started with --cert/--key (e.g. for OAuth, which Azurite accepts only over HTTPS).</summary>
    public string BlobEndpoint => $"{(_extraArgs.Contains("--cert") ? "https" : "http")}://127.0.0.1:{Port}/{Account}";
    public string ConnectionString(string container, string? prefix = null) =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint={BlobEndpoint};Container={container}" + (prefix is null ? "" : $";Prefix={prefix}");

    public static string MainScript(string repositoryRoot) => Path.Combine(repositoryRoot, "tests", "node", "node_modules", "azurite", "dist", "src", "blob", "main.js");

    public static async Task<AzuriteServer> StartNewAsync(string? location = null, params string[] extraArgs)
    {
        var server = new AzuriteServer(FreePort(), location ?? Directory.CreateTempSubdirectory("azurite-").FullName, extraArgs);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>
    /// Starts Azurite and waits until it accepts connections. A restart first waits for the previous process to
    /// exit and for the port to be free: otherwise the new process can lose the port to the old one (it exits
    /// with EADDRINUSE) while the old one's listener passes the readiness check. When the start fails, the
    /// exception carries this start's own exit code and output.
    /// </summary>
    public async Task StartAsync()
    {
        var script = MainScript(TestPostgres.RepositoryRoot());
        if (!File.Exists(script)) throw new InvalidOperationException($"Azurite is not installed ({script}); run: npm install --prefix tests/node");
        if (_process is { } previous)
        {
            await previous.WaitForExitAsync();
            previous.Dispose();
            _process = null;
        }
        await WaitForPortFreeAsync();
        var psi = new ProcessStartInfo("node")
        {
            ArgumentList = { script, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(), "--location", Location, "--skipApiVersionCheck", "--loose", "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in _extraArgs) psi.ArgumentList.Add(a);
        var own = new System.Text.StringBuilder();
        var process = Process.Start(psi)!;
        void Capture(string? line)
        {
            if (line is null) return;
            lock (own) own.AppendLine(line);
            lock (_output) _output.AppendLine(line);
        }
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        string Own() { lock (own) return own.Length == 0 ? "(no output)" : own.ToString().Trim(); }
        // Readiness: the port accepts connections; the port was free before the start, so the listener is this
        // process's. Bounded so a broken install fails (with its output) instead of hanging.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(); // drains the output
                throw new InvalidOperationException($"Azurite on port {Port} exited with {process.ExitCode} while starting: {Own()}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"Azurite on port {Port} did not accept connections within 3 minutes ({e.SocketErrorCode}): {Own()}");
            }
        }
    }

    /// <summary>Waits until nothing listens on the port (a connection is refused); fails naming the port when something keeps it.</summary>
    private async Task WaitForPortFreeAsync()
    {
        var deadline = DateTime.UtcNow + PortWait;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
            }
            catch (SocketException)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"port {Port} is still taken {PortWait.TotalSeconds:0} s after Azurite stopped; another process listens on it");
            await Task.Delay(50);
        }
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Graceful stop (SIGTERM) and wait for exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } p) return;
        if (!OperatingSystem.IsWindows()) Kill(p.Id, 15);
        else p.Kill();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); }
        await WaitForPortFreeAsync();
    }

    /// <summary>Crash: SIGKILL, no chance to persist anything.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } p) return;
        p.Kill();
        await p.WaitForExitAsync();
        await WaitForPortFreeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        _process?.Dispose();
        try { Directory.Delete(Location, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
