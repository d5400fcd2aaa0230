using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Commands;

/// <summary>
/// `pipelines run` at a terminal stops at an approval, shows the candidate against the champion and asks; the
/// answer typed at the prompt is the recorded decision.
/// </summary>
public class InteractiveApprovalTests
{
    // The summary has the shape the evaluate activity produces (candidate metrics and slices, the champion's).
    private const string Workflow = """
        name: interactive-approval
        steps:
          - id: review
            uses: approval
            with:
              allow_self_approval: true
              summary:
                task: BinaryClassification
                primary_metric: roc_auc
                maximize: true
                rows: 16281
                metrics: { roc_auc: 0.9251, log_loss: 0.2912, accuracy: 0.8655 }
                slices:
                  - { column: sex, value: Female, rows: 5421, metrics: { roc_auc: 0.9301 } }
                  - { column: sex, value: Male, rows: 10860, metrics: { roc_auc: 0.9102 } }
                champion:
                  version: 3
                  alias: champion
                  metrics: { roc_auc: 0.9203, log_loss: 0.2987, accuracy: 0.8611 }
                  slices:
                    - { column: sex, value: Female, rows: 5421, metrics: { roc_auc: 0.9355 } }
                    - { column: sex, value: Male, rows: 10860, metrics: { roc_auc: 0.9050 } }
          - id: after
            uses: log
            with: { message: "decided by ${{ steps.review.outputs.decided_by }}" }
        """;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static async Task<(TestDatabase Db, TerminalSession Terminal)> StartAsync()
    {
        var db = await TestPostgres.CreateDatabaseAsync();
        var file = Path.Combine(Path.GetTempPath(), $"pipelines-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, Workflow);
        var terminal = TerminalSession.Start(new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "" },
            "run", file, "--db", db.ConnectionString);
        return (db, terminal);
    }

    [Test]
    public async Task Prompt_ShowsCandidateAgainstChampion_AndRecordsTheTypedApproval()
    {
        var (db, terminal) = await StartAsync();
        await using var _ = db;
        using var __ = terminal;

        var at = await terminal.WaitForAsync("Approve 'review' as tester?", Wait);
        var screen = terminal.Screen;
        Assert.That(screen, Does.Contain("champion v3").And.Contain("roc_auc (primary)"));
        Assert.That(screen, Does.Match(@"roc_auc \(primary\)\s*│\s*0\.9251\s*│\s*0\.9203\s*│\s*\+0\.0048"), "candidate, champion and change side by side");
        Assert.That(screen, Does.Match(@"log_loss\s*│\s*0\.2912\s*│\s*0\.2987\s*│\s*-0\.0075"));
        Assert.That(screen, Does.Contain("sex=Female 0.9301 vs 0.9355"), "the slice where the candidate is worse is named");
        Assert.That(screen, Does.Not.Contain("sex=Male 0.9102"), "a slice that improved is not listed as worse");

        await terminal.TypeAsync("y\r");
        await terminal.WaitForAsync("Comment:", Wait, at);
        await terminal.TypeAsync("holdout looks good\r");
        Assert.That(await terminal.WaitForExitAsync(Wait), Is.EqualTo(0), terminal.Screen);
        Assert.That(terminal.Screen, Does.Contain("approved by tester"));

        Assert.That(await db.ScalarAsync<string>("SELECT decision || '/' || decided_by || '/' || comment FROM approvals"),
            Is.EqualTo("approved/tester/holdout looks good"));
        Assert.That(await db.ScalarAsync<string>("SELECT state FROM step_runs WHERE step_id = 'after'"), Is.EqualTo("succeeded"));
    }

    [Test]
    public async Task AnsweringNo_RejectsTheApproval_AndTheRunDoesNotGoOn()
    {
        var (db, terminal) = await StartAsync();
        await using var _ = db;
        using var __ = terminal;

        var at = await terminal.WaitForAsync("Approve 'review' as tester?", Wait);
        await terminal.TypeAsync("n\r");
        await terminal.WaitForAsync("Comment:", Wait, at);
        await terminal.TypeAsync("slice regression on sex=Female\r");
        Assert.That(await terminal.WaitForExitAsync(Wait), Is.Not.EqualTo(0), terminal.Screen);
        Assert.That(terminal.Screen, Does.Contain("rejected by tester"));

        Assert.That(await db.ScalarAsync<string>("SELECT decision FROM approvals"), Is.EqualTo("rejected"));
        Assert.That(await db.ScalarAsync<string>("SELECT state FROM step_runs WHERE step_id = 'after'"), Is.Not.EqualTo("succeeded"));
    }
}
