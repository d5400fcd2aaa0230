using System.Diagnostics;
using Pipelines.Cli.Tests.Processes;
using Pipelines.Postgres.Local;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Commands;

/// <summary><c>pipelines local status|stop</c> on a private PostgreSQL provisioned by a real command in an empty state folder.</summary>
public class LocalCommandTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Directory.CreateTempSubdirectory("pipelines-local-").FullName;
        // As root the server runs as 'postgres', which must reach the state folder.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
    }

    [TearDown]
    public async Task StopAndDelete()
    {
        await new LocalPostgres(Path.Combine(_dir, ".pipelines")).StopIfRunningAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<(int Code, string Output)> Cli(params string[] args) => CliProcess.RunAsync(new Dictionary<string, string>
    {
        ["PIPELINES_DB"] = "",
        ["PIPELINES_CONFIG"] = Path.Combine(_dir, "pipelines.json"),
        ["PIPELINES_HOME"] = "",
    }, _dir, TimeSpan.FromSeconds(120), args);

    [Test]
    public async Task Status_ShowsTheServerACommandLeftRunning_AndStopStopsIt()
    {
        var (code, output) = await Cli("local", "status");
        Assert.That(code, Is.EqualTo(ExitCodes.NotFound), output);
        Assert.That(output, Does.Contain("no private PostgreSQL in " + Path.Combine(_dir, ".pipelines")));
        Assert.That(Directory.Exists(Path.Combine(_dir, ".pipelines")), Is.False, "status creates nothing");

        (code, output) = await Cli("runs", "list");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);

        (code, output) = await Cli("local", "status");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        Assert.That(output, Does.StartWith("running: PostgreSQL on 127.0.0.1:"));
        var pid = int.Parse(System.Text.RegularExpressions.Regex.Match(output, @"process (\d+)").Groups[1].Value);
        Assert.That(ProcessExists(pid), Is.True, "the process status names is the server's");

        (code, output) = await Cli("local", "stop");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        Assert.That(output, Does.StartWith("stopped the private PostgreSQL"));
        // pg_ctl returns when the server removed its pid file, a moment before the process is gone.
        await Eventually.WaitAsync(() => Task.FromResult(ProcessExists(pid)), exists => !exists, TimeSpan.FromSeconds(60), $"server process {pid} to exit");

        (code, output) = await Cli("local", "status");
        Assert.That(code, Is.EqualTo(ExitCodes.NotFound), output);
        Assert.That(output, Does.StartWith("stopped:"));

        (code, output) = await Cli("local", "stop");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        Assert.That(output, Does.StartWith("no private PostgreSQL running"));
    }

    [Test]
    public async Task ACommandAfterStop_StartsTheServerAgain()
    {
        var (code, output) = await Cli("runs", "list");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        var dataDir = Path.Combine(_dir, ".pipelines", "postgres", "data");
        Assert.That(File.Exists(Path.Combine(dataDir, "postmaster.pid")), Is.True);

        (code, output) = await Cli("local", "stop");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        // Later commands trust postmaster.pid to skip pg_ctl; without it they must start the server, not fail to connect.
        (code, output) = await Cli("runs", "list");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        (code, output) = await Cli("local", "status");
        Assert.That(output, Does.StartWith("running: PostgreSQL on 127.0.0.1:"));
    }

    [Test]
    public void PostmasterFile_IsTrustedOnlyForALiveServerOnThePort()
    {
        var lines = new[] { "4242", "/data", "1733400000", "5432", "", "127.0.0.1", "  1234  5678", "ready   " };
        Assert.That(PostmasterFile.Parse(lines), Is.EqualTo(new PostmasterFile.State(4242, 5432, true)));
        Assert.That(PostmasterFile.Parse([.. lines[..7], "starting"])!.Ready, Is.False);
        Assert.That(PostmasterFile.Parse(lines[..4]), Is.Null, "a file cut short (server starting) is not trusted");

        // A stale file whose process id now belongs to another program (here: this test process).
        var dir = Path.Combine(_dir, "data");
        Directory.CreateDirectory(dir);
        lines[0] = Environment.ProcessId.ToString();
        File.WriteAllLines(Path.Combine(dir, "postmaster.pid"), lines);
        Assert.That(PostmasterFile.IsReady(dir, 5432), Is.False);
        Assert.That(PostmasterFile.IsReady(Path.Combine(_dir, "missing"), 5432), Is.False);
    }

    [Test]
    public void ABrokenStateFile_IsNamedWithItsField_AndNothingIsProvisioned()
    {
        var state = Path.Combine(_dir, ".pipelines");
        Directory.CreateDirectory(state);
        var info = Path.Combine(state, "postgres.json");
        File.WriteAllText(info, """{"DataDir":"/nowhere","Password":"secret-value","Databases":["pipelines"]}""");

        var e = Assert.ThrowsAsync<InvalidOperationException>(() => new LocalPostgres(state).EnsureStartedAsync());
        Assert.That(e!.Message, Does.StartWith(info + ": not a valid description").And.Contain("'Port' is missing"));
        Assert.That(e.Message, Does.Not.Contain("secret-value"));
        Assert.That(Directory.Exists(Path.Combine(state, "postgres")), Is.False, "no server provisioned over the broken file");

        File.WriteAllText(info, "{ not json");
        e = Assert.ThrowsAsync<InvalidOperationException>(() => new LocalPostgres(state).EnsureStartedAsync());
        Assert.That(e!.Message, Does.StartWith(info));
        File.Delete(info); // the teardown's stop reads it too
    }

    private static bool ProcessExists(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            // An exited child not yet reaped by its parent (a zombie) has stopped all the same.
            var stat = File.Exists($"/proc/{pid}/stat") ? File.ReadAllText($"/proc/{pid}/stat") : "";
            return !p.HasExited && !stat[(stat.LastIndexOf(')') + 1)..].TrimStart().StartsWith('Z');
        }
        catch (ArgumentException) { return false; }
    }
}
