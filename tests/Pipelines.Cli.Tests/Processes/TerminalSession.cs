using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipelines.Cli.Tests.Processes;

/// <summary>
/// A <c>pipelines</c> process on a pseudo-terminal (through util-linux <c>script</c>), so it behaves as at a user's
/// terminal: live table, interactive prompts. Keys are typed into the terminal; the screen is read as plain text.
/// </summary>
public sealed partial class TerminalSession : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _screen = new();
    private readonly Task _reader;

    private TerminalSession(Process process)
    {
        _process = process;
        _reader = Task.Run(ReadAsync);
    }

    public static TerminalSession Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // A wide terminal, so tables and long lines are not wrapped.
        var command = "stty cols 200 rows 50; " +
                      string.Join(' ', new[] { "dotnet", Path.Combine(AppContext.BaseDirectory, "pipelines.dll") }.Concat(args).Select(Quote));
        var psi = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-q", "-f", "-e", "-c", command, "/dev/null" }) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "xterm";
        psi.Environment["PIPELINES_USER"] = "tester";
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        return new TerminalSession(Process.Start(psi)!);
    }

    /// <summary>The terminal's output so far, without escape sequences.</summary>
    public string Screen
    {
        get { lock (_screen) return Escapes().Replace(_screen.ToString(), "").Replace("\r", ""); }
    }

    /// <summary>The terminal's output so far, escape sequences included.</summary>
    public string Raw
    {
        get { lock (_screen) return _screen.ToString(); }
    }

    /// <summary>Waits until the screen shows <paramref name="text"/> after <paramref name="from"/> characters of it.</summary>
    public async Task<int> WaitForAsync(string text, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var screen = Screen;
            var at = from < screen.Length ? screen.IndexOf(text, from, StringComparison.Ordinal) : -1;
            if (at >= 0) return at + text.Length;
            if (_process.HasExited || DateTime.UtcNow > deadline)
                throw new TimeoutException($"'{text}' did not appear{(_process.HasExited ? " (the process exited)" : "")}; screen:\n{screen}");
            await Task.Delay(50);
        }
    }

    /// <summary>Types keys as a person would; a line ends with Enter (carriage return).</summary>
    public async Task TypeAsync(string keys)
    {
        await _process.StandardInput.WriteAsync(keys);
        await _process.StandardInput.FlushAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"process did not exit within {timeout}; screen:\n{Screen}"); }
        await _reader;
        return _process.ExitCode;
    }

    private async Task ReadAsync()
    {
        // Prompts end without a newline, so the stream is read as it arrives rather than by lines.
        var buffer = new char[4096];
        int n;
        while ((n = await _process.StandardOutput.ReadAsync(buffer)) > 0)
            lock (_screen) _screen.Append(buffer, 0, n);
    }

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''") + "'";

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][A-Z0-9]|[=>])")]
    private static partial Regex Escapes();

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
