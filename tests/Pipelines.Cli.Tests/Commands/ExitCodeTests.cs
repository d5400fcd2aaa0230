using Pipelines.Cli.Tests.Processes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Commands;

/// <summary>
/// Exit codes and messages as the README states them (2 invalid input, nothing written; 3 not found), checked on
/// real processes. Commands that must not touch a database run in an empty folder with no database configured,
/// so that anything they provisioned would show up there.
/// </summary>
public class ExitCodeTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pipelines-exit-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private string StateFolder => Path.Combine(_dir, ".pipelines");

    /// <summary>No database from the test environment, no config file: the only way to a database would be the private server in <see cref="StateFolder"/>.</summary>
    private Dictionary<string, string> FreshFolder() => new()
    {
        ["PIPELINES_DB"] = "",
        ["PIPELINES_CONFIG"] = Path.Combine(_dir, "pipelines.json"),
        ["PIPELINES_HOME"] = StateFolder,
        ["MLFLOW_TRACKING_URI"] = "",
    };

    private Task<(int Code, string Output)> RunInFreshFolderAsync(params string[] args) =>
        CliProcess.RunAsync(FreshFolder(), _dir, TimeSpan.FromSeconds(60), args);

    [TestCase("validate")]
    [TestCase("runs", "show")]
    [TestCase("approve", "only-a-run-id")]
    [TestCase("run", "x.yaml", "--no-such-option")]
    public async Task AUsageError_ExitsTwo_AndSaysWhatIsWrong(params string[] args)
    {
        var (code, output) = await RunInFreshFolderAsync(args);
        Assert.That(code, Is.EqualTo(ExitCodes.InvalidInput), output);
        Assert.That(output, Does.Contain("Required argument missing").Or.Contain("Unrecognized command or argument"));
        Assert.That(Directory.Exists(StateFolder), Is.False, "nothing provisioned");
    }

    [Test]
    public async Task Validate_OnAMissingFile_ExitsThree_AndNamesIt()
    {
        var missing = Path.Combine(_dir, "nope.yaml");
        var (code, output) = await RunInFreshFolderAsync("validate", missing);
        Assert.That(code, Is.EqualTo(ExitCodes.NotFound), output);
        Assert.That(output, Does.Contain($"{missing}: file not found"));
    }

    [Test]
    public async Task Run_OnAMissingFile_ExitsThree_WithoutProvisioningADatabase()
    {
        var missing = Path.Combine(_dir, "nope.yaml");
        var (code, output) = await RunInFreshFolderAsync("run", missing);
        Assert.That(code, Is.EqualTo(ExitCodes.NotFound), output);
        Assert.That(output, Does.Contain($"{missing}: file not found"));
        Assert.That(Directory.Exists(StateFolder), Is.False, "nothing provisioned: " + output);
    }

    [Test]
    public async Task Run_OnAnInvalidWorkflowOrParameter_InAFreshFolder_ExitsTwo_WithoutProvisioningADatabase()
    {
        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "name: bad\nsteps:\n  - id: a\n\tuses: log\n");
        var (code, output) = await RunInFreshFolderAsync("run", bad);
        Assert.That(code, Is.EqualTo(ExitCodes.InvalidInput), output);
        Assert.That(output, Does.Contain($"{bad}:4:1: yaml: tab character in indentation"));
        Assert.That(Directory.Exists(StateFolder), Is.False, "validation comes before the private PostgreSQL: " + output);

        var typed = Path.Combine(_dir, "typed.yaml");
        await File.WriteAllTextAsync(typed, """
            name: typed
            parameters:
              n: { type: integer, maximum: 5, default: 1 }
            steps:
              - id: a
                uses: range
                with: { count: "${{ params.n }}" }
            """);
        (code, output) = await RunInFreshFolderAsync("run", typed, "-p", "n=50");
        Assert.That(code, Is.EqualTo(ExitCodes.InvalidInput), output);
        Assert.That(output, Does.Contain("params.n"));
        Assert.That(Directory.Exists(StateFolder), Is.False, "parameters are bound before the private PostgreSQL: " + output);
    }

    [Test]
    public async Task Run_WithAutoApproveAndNoWait_IsRefused_AndSubmitsNothing()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var example = Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "approval.yaml");
        var (code, output) = await CliProcess.RunAsync("run", example, "--db", db.ConnectionString, "--auto-approve", "--no-wait");
        Assert.That(code, Is.EqualTo(ExitCodes.InvalidInput), output);
        Assert.That(output, Does.Contain("--auto-approve cannot be combined with --no-wait"));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM runs"), Is.EqualTo(0));
    }

    [Test]
    public async Task Run_WithAutoApprove_AndOnlyOtherWorkers_ApprovesWhileItFollowsTheRun()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.StartWorkersAsync();
        var example = Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "approval.yaml");
        var (code, output) = await CliProcess.RunAsync("run", example, "--db", h.Database.ConnectionString, "--auto-approve", "--workers", "0");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), output);
        Assert.That(await h.Database.ScalarAsync<string>("SELECT decided_by FROM approvals"), Is.EqualTo("auto-approve"));
        var run = await h.Database.ScalarAsync<Guid>("SELECT id FROM runs");
        Assert.That((await h.RunAsync(run)).Run.State, Is.EqualTo(RunState.Succeeded));
        Assert.That(await h.Database.ScalarAsync<string>("SELECT string_agg(DISTINCT worker_id, ',') FROM attempts"), Is.EqualTo("w0"),
            "the steps ran on the test's worker, not in the CLI process");
        await h.StopWorkersAsync();
    }
}
