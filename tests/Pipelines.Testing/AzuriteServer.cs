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
    public string Location { get; }
    /// <summary>https when started with --cert/--key (e.g. for OAuth, which Azurite accepts only over HTTPS).</summary>
    public string BlobEndpoint => $"{(_extraArgs.Contains("--cert") ? "https" : "http")}://127.0.0.1:{Port}/{Account}";
    public string ConnectionString(string container, string? prefix = null) =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint={BlobEndpoint};Container={container}" + (prefix is null ? "" : $";Prefix={prefix}");

    public static string MainScript(string repositoryRoot) => Path.Combine(repositoryRoot, "tests", "node", "node_modules", "azurite", "dist", "src", "blob", "main.js");

    public static async Task<AzuriteServer> StartNewAsync(string? location = null, params string[] extraArgs)
    {
        var server = new AzuriteServer(FreePort(), location ?? Directory.CreateTempSubdirectory("azurite-").FullName, extraArgs);
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        var script = MainScript(TestPostgres.RepositoryRoot());
        if (!File.Exists(script)) throw new InvalidOperationException($"Azurite is not installed ({script}); run: npm install --prefix tests/node");
        var psi = new ProcessStartInfo("node")
        {
            ArgumentList = { script, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(), "--location", Location, "--skipApiVersionCheck", "--loose", "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in _extraArgs) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;
        // Readiness: the port accepts connections. Bounded so a broken install fails instead of hanging.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"Azurite exited with {process.ExitCode}: {Output}");
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
    }

    /// <summary>Crash: SIGKILL, no chance to persist anything.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } p) return;
        p.Kill();
        await p.WaitForExitAsync();
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
