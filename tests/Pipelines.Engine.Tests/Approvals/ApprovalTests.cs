using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Approvals;

public class ApprovalTests
{
    private const string Workflow = """
        name: gated
        steps:
          - id: before
            uses: log
            with: { message: candidate ready }
          - id: approve
            uses: approval
            needs: before
            with:
              summary: { auc: 0.91, champion_auc: 0.89 }
              timeout: 1h
          - id: promote
            uses: log
            needs: approve
            with: { message: "promoted by ${{ steps.approve.outputs.decided_by }}" }
        """;

    private static async Task<(EngineHarness H, Guid Run)> WaitingAsync(TimeProvider? time = null)
    {
        var h = await EngineHarness.CreateAsync(time);
        var run = await h.SubmitAsync(Workflow, user: "alice");
        var job = (await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(5))).Single();
        await h.Store.CompleteAsync(new JobCompletion(job.StepRunId, run, 1, "w", AttemptOutcome.Succeeded,
            new() { ["message"] = "candidate ready" }, null, false, ""));
        return (h, run);
    }

    [Test]
    public async Task Approve_ResumesTheRun_WithWhoWhenAndComment()
    {
        var (h, run) = await WaitingAsync();
        await using var _ = h;
        var waiting = await h.RunAsync(run);
        Assert.That(h.Step(waiting, "approve").State, Is.EqualTo(StepState.Waiting));
        Assert.That(waiting.Approvals.Single().Summary!["auc"]!.GetValue<double>(), Is.EqualTo(0.91));
        Assert.That(await h.Store.ListOpenApprovalsAsync(), Has.Count.EqualTo(1));

        await h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "bob", "looks good");
        var job = (await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(5))).Single();
        Assert.That(job.Inputs["message"]!.GetValue<string>(), Is.EqualTo("promoted by bob"));

        var approval = (await h.RunAsync(run)).Approvals.Single();
        Assert.That((approval.Decision, approval.DecidedBy, approval.Comment), Is.EqualTo(("approved", "bob", "looks good")));
        Assert.That(approval.DecidedAt, Is.Not.Null);
    }

    [Test]
    public async Task Reject_StopsTheRun_AndPromotesNothing()
    {
        var (h, run) = await WaitingAsync();
        await using var _ = h;
        await h.Store.DecideAsync(run, "approve", ApprovalDecision.Reject, "bob", "fairness slice regressed");
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(details.Run.Error, Is.EqualTo("stopped by step 'approve': rejected by bob: fairness slice regressed"));
        Assert.That(h.Step(details, "promote").State, Is.EqualTo(StepState.Skipped));
        Assert.That(await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(5)), Is.Empty);
    }

    [Test]
    public async Task ApprovingYourOwnRun_IsForbiddenByDefault()
    {
        var (h, run) = await WaitingAsync();
        await using var _ = h;
        var ex = Assert.ThrowsAsync<PolicyException>(() => h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "alice", null));
        Assert.That(ex!.Message, Does.Contain("alice started run"));
        Assert.That(h.Step(await h.RunAsync(run), "approve").State, Is.EqualTo(StepState.Waiting), "nothing changed");
    }

    [Test]
    public async Task ConcurrentDecisions_ExactlyOneWins()
    {
        var (h, run) = await WaitingAsync();
        await using var _ = h;
        var deciders = Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            try
            {
                await h.NewStore().DecideAsync(run, "approve", i % 2 == 0 ? ApprovalDecision.Approve : ApprovalDecision.Reject, $"user{i}", null);
                return true;
            }
            catch (ConflictException) { return false; }
        })).ToList();
        var results = await Task.WhenAll(deciders);
        Assert.That(results.Count(r => r), Is.EqualTo(1));
        var details = await h.RunAsync(run);
        Assert.That(details.Approvals.Single().DecidedBy, Does.StartWith("user"));
    }

    [Test]
    public async Task UndecidedApproval_ExpiresAfterItsTimeout()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        var (h, run) = await WaitingAsync(time);
        await using var _ = h;
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.That(await h.Store.ExpireApprovalsAsync(), Is.EqualTo(0));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await h.Store.ExpireApprovalsAsync(), Is.EqualTo(1));
        var details = await h.RunAsync(run);
        Assert.That(details.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(details.Approvals.Single().Decision, Is.EqualTo("expired"));
        Assert.ThrowsAsync<ConflictException>(() => h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "bob", null));
    }

    [Test]
    public async Task CancelledRun_HasNoOpenApproval_AndRefusesADecision()
    {
        var (h, run) = await WaitingAsync();
        await using var _ = h;
        await h.Store.CancelRunAsync(run, "bob");
        Assert.That(await h.Store.ListOpenApprovalsAsync(), Is.Empty);
        var ex = Assert.ThrowsAsync<ConflictException>(() => h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "bob", null));
        Assert.That(ex!.Message, Does.Contain("is cancelled"));
        Assert.That((await h.RunAsync(run)).Run.State, Is.EqualTo(RunState.Cancelled));
    }

    [Test]
    public async Task NoPersonMaySignAsThePolicy()
    {
        var (h, run) = await WaitingAsync();
        await using var _ = h;
        Assert.ThrowsAsync<PolicyException>(() => h.Store.DecideAsync(run, "approve", ApprovalDecision.Approve, "Policy", "me"));
        Assert.That((await h.RunAsync(run)).Approvals.Single().Decision, Is.Null);
    }

    [TestCase("true", true)]
    [TestCase("false", false)]
    public async Task AutoApprovePolicy_ApprovesAtOnce_RecordedAsThePolicy_OnlyWhenItHolds(string verdict, bool approved)
    {
        await using var h = await EngineHarness.CreateAsync();
        var run = await h.SubmitAsync($$$"""
            name: policy
            steps:
              - id: gate
                uses: log
                with: { message: "improvement 0.012, no slice regression" }
              - id: approve
                uses: approval
                with:
                  summary: { auc: 0.91 }
                  auto_approve: {{{verdict}}}
                  auto_approve_reason: ${{ steps.gate.outputs.message }}
              - id: promote
                uses: log
                needs: approve
                with: { message: "promoted by ${{ steps.approve.outputs.decided_by }}" }
            """, user: "alice");
        var job = (await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(5))).Single();
        await h.Store.CompleteAsync(new JobCompletion(job.StepRunId, run, 1, "w", AttemptOutcome.Succeeded,
            new() { ["message"] = "improvement 0.012, no slice regression" }, null, false, ""));

        var details = await h.RunAsync(run);
        var approval = details.Approvals.Single();
        if (!approved)
        {
            Assert.That(h.Step(details, "approve").State, Is.EqualTo(StepState.Waiting), "a policy that does not hold leaves it to a person");
            Assert.That(approval.Decision, Is.Null);
            return;
        }
        Assert.That(h.Step(details, "approve").State, Is.EqualTo(StepState.Succeeded));
        Assert.That((approval.Decision, approval.DecidedBy, approval.Comment),
            Is.EqualTo(("approved", "policy", "improvement 0.012, no slice regression")), "recorded as the policy's decision, with its reason");
        Assert.That(await h.Store.ListOpenApprovalsAsync(), Is.Empty);
        var next = (await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(5))).Single();
        Assert.That(next.Inputs["message"]!.GetValue<string>(), Is.EqualTo("promoted by policy"));
    }
}
