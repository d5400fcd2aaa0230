using System.Diagnostics;
using System.Text;

namespace Pipelines.Testing;

/// <summary>
/// A real <c>pipelines</c> process started from the built CLI, with its output captured. The test project must
/// reference Pipelines.Cli, so that <c>pipelines.dll</c> is beside the tests.
/// </summary>
public sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _stdout = new();

    private CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) { _output.AppendLine(e.Data); _stdout.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>Standard output and error, interleaved as they arrived.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Standard output alone (e.g. a key or id a command prints for scripts).</summary>
    public string StandardOutput
    {
        get { lock (_output) return _stdout.ToString(); }
    }

    /// <summary>The CLI built beside the tests.</summary>
    public static string BuiltCli => Path.Combine(AppContext.BaseDirectory, "pipelines.dll");

    public static CliProcess Start(params string[] args) => Start(new Dictionary<string, string>(), null, args);

    public static CliProcess Start(IReadOnlyDictionary<string, string> environment, string? workingDirectory, params string[] args) =>
        StartDll(BuiltCli, environment, workingDirectory, args);

    /// <summary>Starts <paramref name="dll"/> (another build of the CLI, or <see cref="BuiltCli"/>); PIPELINES_USER is "tester" unless the environment sets it.</summary>
    public static CliProcess StartDll(string dll, IReadOnlyDictionary<string, string> environment, string? workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PIPELINES_USER"] = "tester";
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        return new CliProcess(Process.Start(psi)!);
    }

    /// <summary>Runs a command to completion and returns its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var p = Start(args);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, p.Output);
    }

    public static async Task<(int Code, string Output)> RunAsync(IReadOnlyDictionary<string, string> environment, string? workingDirectory,
        TimeSpan timeout, params string[] args)
    {
        using var p = Start(environment, workingDirectory, args);
        var code = await p.WaitForExitAsync(timeout);
        return (code, p.Output);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"process did not exit within {timeout}; output:\n{Output}"); }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void KillHard() => Signal("KILL");

    public void Terminate() => Signal("TERM");

    private void Signal(string signal)
    {
        if (_process.HasExited) return;
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()]);
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
