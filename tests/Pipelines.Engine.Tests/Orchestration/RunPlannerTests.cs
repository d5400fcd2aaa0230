using System.Text.Json.Nodes;
using Pipelines.Activities;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Orchestration;

namespace Pipelines.Engine.Tests.Orchestration;

/// <summary>The planner called directly on snapshots: no database, no workers.</summary>
public class RunPlannerTests
{
    private static readonly Pipelines.Core.Activities.ActivityRegistry Registry = BuiltinActivities.CreateRegistry();

    private static readonly Pipelines.Core.Definitions.WorkflowDefinition Diamond = WorkflowValidator.LoadText("""
        name: diamond
        parameters:
          n: { type: integer, default: 2 }
        steps:
          - id: a
            uses: log
            with: { message: start }
          - id: b
            uses: log
            needs: a
            with: { message: "${{ steps.a.outputs.message }}-b" }
          - id: c
            uses: log
            needs: a
            if: "${{ params.n > 5 }}"
            with: { message: c }
          - id: d
            uses: log
            needs: [b, c]
            with: { message: d }
        """, "diamond.yaml", Registry);

    private static PlanStep Step(string id, StepState state, JsonObject? outputs = null, string? error = null) =>
        new(Guid.NewGuid(), id, state, outputs, error);

    private static Plan PlanFor(bool cancel, params PlanStep[] steps) =>
        RunPlanner.Plan(new PlanInput(Diamond, Registry, new JsonObject { ["n"] = 2 }, new JsonObject(), cancel, steps));

    [Test]
    public void FirstPlan_EnqueuesOnlyTheRoot()
    {
        var a = Step("a", StepState.Pending);
        var plan = PlanFor(false, a, Step("b", StepState.Pending), Step("c", StepState.Pending), Step("d", StepState.Pending));
        Assert.That(plan.Decisions, Has.Count.EqualTo(1));
        Assert.That(plan.Decisions[0], Is.InstanceOf<EnqueueStep>().And.Property("StepRunId").EqualTo(a.Id));
        Assert.That(plan.FinalState, Is.Null);
    }

    [Test]
    public void AfterTheRoot_InputsResolveFromItsOutputs_AndAFalseConditionSkips()
    {
        var b = Step("b", StepState.Pending);
        var c = Step("c", StepState.Pending);
        var plan = PlanFor(false, Step("a", StepState.Succeeded, new JsonObject { ["message"] = "start" }), b, c, Step("d", StepState.Pending));
        var enqueue = plan.Decisions.OfType<EnqueueStep>().Single();
        Assert.That(enqueue.StepRunId, Is.EqualTo(b.Id));
        Assert.That(enqueue.Inputs["message"]!.GetValue<string>(), Is.EqualTo("start-b"));
        Assert.That(plan.Decisions.OfType<SkipStep>().Single().StepRunId, Is.EqualTo(c.Id));
    }

    [Test]
    public void FailedUpstream_SkipsDependents_AndTheRunFailsWithTheStepsError()
    {
        var d = Step("d", StepState.Pending);
        var plan = PlanFor(false, Step("a", StepState.Succeeded, new JsonObject { ["message"] = "x" }), Step("b", StepState.Failed, error: "boom"),
            Step("c", StepState.Skipped), d);
        Assert.That(plan.Decisions.OfType<SkipStep>().Single(), Has.Property("StepRunId").EqualTo(d.Id).And.Property("Reason").Contains("'b' failed"));

        var final = PlanFor(false, Step("a", StepState.Succeeded), Step("b", StepState.Failed, error: "boom"), Step("c", StepState.Skipped),
            Step("d", StepState.Skipped));
        Assert.That(final.FinalState, Is.EqualTo(RunState.Failed));
        Assert.That(final.FinalError, Does.Contain("boom"));
    }

    [Test]
    public void CancelRequested_CancelsEveryPendingStep()
    {
        var plan = PlanFor(true, Step("a", StepState.Succeeded), Step("b", StepState.Pending), Step("c", StepState.Pending), Step("d", StepState.Pending));
        Assert.That(plan.Decisions, Has.Count.EqualTo(3).And.All.InstanceOf<CancelStep>());
    }

    [Test]
    public void AllSucceeded_FinishesTheRun()
    {
        var plan = PlanFor(false, Step("a", StepState.Succeeded), Step("b", StepState.Succeeded), Step("c", StepState.Skipped), Step("d", StepState.Succeeded));
        Assert.That(plan.Decisions, Is.Empty);
        Assert.That(plan.FinalState, Is.EqualTo(RunState.Succeeded));
    }

    [Test]
    public void RunningStep_KeepsTheRunOpen() =>
        Assert.That(PlanFor(false, Step("a", StepState.Succeeded), Step("b", StepState.Running), Step("c", StepState.Skipped),
            Step("d", StepState.Pending)).FinalState, Is.Null);
}
