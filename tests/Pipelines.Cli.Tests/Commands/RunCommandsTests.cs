using Pipelines.Cli.Tests.Processes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Commands;

/// <summary>The run-related commands as a user calls them: real processes against a fresh database.</summary>
public class RunCommandsTests
{
    private static async Task<string> WriteAsync(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pipelines-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return path;
    }

    [Test]
    public async Task Run_ExitsZero_AndShowsStepStates_WhenTheRunSucceeds()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var file = await WriteAsync("""
            name: ok
            parameters:
              who: { type: string, default: world }
            steps:
              - id: hello
                uses: log
                with: { message: "hello ${{ params.who }}" }
            """);
        var (code, output) = await CliProcess.RunAsync("run", file, "--db", db.ConnectionString, "-p", "who=tests");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("hello").And.Contain("succeeded"));

        var runId = await db.ScalarAsync<Guid>("SELECT id FROM runs");
        (code, output) = await CliProcess.RunAsync("runs", "show", runId.ToString(), "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("hello tests"), "the attempt's log is shown");
        Assert.That(output, Does.Match(@"time: [0-9.]+ s: [0-9.]+ s in steps, [0-9.]+ s orchestration \([0-9.]+ ?%\), first step claimed [0-9.]+ s after creation"),
            "where the finished run's time went");
    }

    [Test]
    public async Task Run_ExitsOne_WhenTheRunFails()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var file = await WriteAsync("""
            name: broken
            steps:
              - id: boom
                uses: fail
                with: { message: "disk on fire" }
            """);
        var (code, output) = await CliProcess.RunAsync("run", file, "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("disk on fire"));
    }

    [Test]
    public async Task Run_ExitsTwo_AndWritesNothing_WhenTheWorkflowOrAParameterIsInvalid()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var bad = await WriteAsync("""
            name: bad
            steps:
              - id: a
                uses: lgo
            """);
        var (code, output) = await CliProcess.RunAsync("run", bad, "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain($"{bad}:4:5: steps[0].uses: unknown activity kind 'lgo'"));

        var good = await WriteAsync("""
            name: typed
            parameters:
              n: { type: integer, maximum: 5, default: 1 }
            steps:
              - id: a
                uses: range
                with: { count: "${{ params.n }}" }
            """);
        (code, output) = await CliProcess.RunAsync("run", good, "--db", db.ConnectionString, "-p", "n=50");
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("params.n"));

        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM runs"), Is.EqualTo(0));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM workflow_versions"), Is.EqualTo(0));
    }

    [Test]
    public async Task ApproveAndReject_MapPolicyConflictAndNotFound_ToExitCodes()
    {
        await using var h = await EngineHarness.CreateAsync();
        var yaml = """
            name: gated
            steps:
              - id: approve
                uses: approval
              - id: after
                uses: log
                needs: approve
                with: { message: done }
            """;
        var run = await h.SubmitAsync(yaml, user: "tester");
        var cs = h.Database.ConnectionString;

        var (code, output) = await CliProcess.RunAsync("approve", run.ToString(), "approve", "--db", cs);
        Assert.That(code, Is.EqualTo(6), "PIPELINES_USER=tester started the run: " + output);

        (code, output) = await CliProcess.RunAsync("reject", run.ToString(), "approve", "--db", cs, "--user", "carol", "-m", "not today");
        Assert.That(code, Is.EqualTo(0), output);

        (code, output) = await CliProcess.RunAsync("approve", run.ToString(), "approve", "--db", cs, "--user", "dave");
        Assert.That(code, Is.EqualTo(4), output);
        Assert.That(output, Does.Contain("already rejected by carol"));

        (code, _) = await CliProcess.RunAsync("approve", Guid.NewGuid().ToString(), "approve", "--db", cs, "--user", "dave");
        Assert.That(code, Is.EqualTo(3));

        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(details.Approvals.Single().Comment, Is.EqualTo("not today"));
    }

    [Test]
    public async Task CancelAndRetry_FromTheCommandLine()
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync("""
            name: later
            steps:
              - id: a
                uses: log
                with: { message: a }
            """);
        var cs = h.Database.ConnectionString;
        var (code, output) = await CliProcess.RunAsync("cancel", run.ToString(), "--db", cs);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That((await h.RunAsync(run)).Run.State, Is.EqualTo(RunState.Cancelled));

        (code, output) = await CliProcess.RunAsync("cancel", run.ToString(), "--db", cs);
        Assert.That(code, Is.EqualTo(4), "already cancelled: " + output);

        (code, output) = await CliProcess.RunAsync("retry", run.ToString(), "--db", cs);
        Assert.That(code, Is.EqualTo(0), output);
        await h.StartWorkersAsync();
        var details = await h.WaitForEndAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Succeeded));

        (code, output) = await CliProcess.RunAsync("runs", "list", "--db", cs);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain(run.ToString()).And.Contain("succeeded"));
    }

    [Test]
    public async Task SchedulesSync_RegistersTheExampleWorkflows()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var examples = Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples");
        var (code, output) = await CliProcess.RunAsync("schedules", "sync", examples, "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("hello: 0 2 * * * (Europe/Amsterdam)"));
        (code, output) = await CliProcess.RunAsync("schedules", "list", "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("hello").And.Contain("Europe/Amsterdam"));
    }

    [Test]
    public async Task SchedulesSyncOfTheWorkflowsFolder_SchedulesTheShippedWorkflowsButNotTheExamples_AndListShowsTheNextFireAtOnce()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var workflows = Path.Combine(TestPostgres.RepositoryRoot(), "workflows");
        var (code, output) = await CliProcess.RunAsync("schedules", "sync", workflows, "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("adult-income-nightly: 0 2 * * * (Europe/Amsterdam)").And.Not.Contain("hello"));
        Assert.That(output, Does.Contain("adult-income-nightly: on monitor_alert adult-income, at most once per 1d"));
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM schedules WHERE workflow_name IN ('hello', 'approval')"), Is.EqualTo(0));

        // No worker has led yet: the next fire is shown all the same, and no last fire, since no run fired.
        (code, output) = await CliProcess.RunAsync("schedules", "list", "--db", db.ConnectionString);
        Assert.That(code, Is.EqualTo(0), output);
        // The schedules' table first, then the event triggers' (registered by the same sync).
        var nightly = output.Split('\n').First(l => l.Contains("adult-income-nightly"));
        Assert.That(output.Split('\n').Last(l => l.Contains("adult-income-nightly")), Does.Contain("monitor_alert").And.Contain("adult-income").And.Contain("1d"));
        var times = System.Text.RegularExpressions.Regex.Matches(nightly, @"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ").Select(m => DateTimeOffset.Parse(m.Value)).ToList();
        Assert.That(times, Has.Count.EqualTo(1), "only a next fire: " + nightly);
        var amsterdam = TimeZoneInfo.ConvertTime(times[0], TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam"));
        Assert.That((amsterdam.Hour, amsterdam.Minute), Is.EqualTo((2, 0)), nightly);
        Assert.That(times[0], Is.GreaterThan(DateTimeOffset.UtcNow).And.LessThan(DateTimeOffset.UtcNow.AddDays(1).AddMinutes(1)), nightly);
    }

    [Test]
    public async Task Run_WithAutoApprove_DecidesApprovalsAndRecordsItAsSuch()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var example = Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "approval.yaml");
        var (code, output) = await CliProcess.RunAsync("run", example, "--db", db.ConnectionString, "--auto-approve");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("approved automatically (--auto-approve)"));
        Assert.That(await db.ScalarAsync<string>("SELECT decided_by FROM approvals"), Is.EqualTo("auto-approve"));
        Assert.That(await db.ScalarAsync<string>("SELECT comment FROM approvals"), Is.EqualTo("approved by --auto-approve"));
    }

    [Test]
    public async Task Run_WithoutATerminal_TellsHowToDecide_AndTheRunResumesWhenSomeoneElseApproves()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var example = Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "examples", "approval.yaml");
        using var run = CliProcess.Start("run", example, "--db", db.ConnectionString);
        var runId = await Eventually.WaitAsync(async () =>
        {
            try { return await db.ScalarAsync<Guid>("SELECT run_id FROM approvals"); }
            catch (NullReferenceException) { return Guid.Empty; }
        }, id => id != Guid.Empty, TimeSpan.FromSeconds(30), "the approval to open");
        await Eventually.WaitAsync(() => Task.FromResult(run.Output), o => o.Contains("may not approve it"), TimeSpan.FromSeconds(30),
            "the hint that the starter may not approve");

        var (code, output) = await CliProcess.RunAsync("approve", runId.ToString(), "review", "--db", db.ConnectionString, "--user", "carol");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(0), run.Output);
        Assert.That(run.Output, Does.Contain("succeeded"));
    }
}
