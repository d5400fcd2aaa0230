using Pipelines.Engine.Model;
using Pipelines.Engine.Orchestration;

namespace Pipelines.Engine.Tests.Orchestration;

/// <summary>How a finished run's wall time splits into steps, people's waits and the engine's own cost.</summary>
public class RunTimelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 2, 0, 0, TimeSpan.Zero);
    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    private static StepRunView Step(string id, params (double From, double? To)[] attempts) => new(Guid.NewGuid(), id, null, "log@1", StepState.Succeeded, attempts.Length,
        false, null, null, null, null, null, null, null,
        [.. attempts.Select((a, i) => new AttemptView(i + 1, "w1", AttemptState.Succeeded, At(a.From), a.To is { } t ? At(t) : null, null, ""))]);

    private static RunDetails Run(double? end, IReadOnlyList<StepRunView> steps, IReadOnlyList<ApprovalView>? approvals = null) =>
        new(new RunSummary(Guid.NewGuid(), "w", end is null ? RunState.Running : RunState.Succeeded, "olga", "manual", T0, end is { } e ? At(e) : null, null,
            new Dictionary<StepState, int>()), [], T0, steps, approvals ?? []);

    [Test]
    public void OverlappingAttempts_CountOnce_AndGapsAreOrchestration()
    {
        // 0.1 s to the first claim; a (0.1–2) and b (1–3) overlap; 0.5 s gap; c (3.5–5); finalised at 5.2.
        var t = RunTimeline.Of(Run(5.2, [Step("a", (0.1, 2)), Step("b", (1, 3)), Step("c", (3.5, 5))]))!;
        Assert.That(t.Wall.TotalSeconds, Is.EqualTo(5.2).Within(1e-6));
        Assert.That(t.InSteps.TotalSeconds, Is.EqualTo(4.4).Within(1e-6));
        Assert.That(t.Orchestration.TotalSeconds, Is.EqualTo(0.8).Within(1e-6));
        Assert.That(t.OrchestrationShare, Is.EqualTo(0.8 / 5.2).Within(1e-6));
        Assert.That(t.FirstClaim!.Value.TotalSeconds, Is.EqualTo(0.1).Within(1e-6));
        Assert.That(t.Describe(), Does.Contain("0.80 s orchestration (15.4 %)").And.Contain("first step claimed 0.100 s"));
    }

    [Test]
    public void APersonsWait_IsNeitherStepsNorOrchestration_AndRetriesCountEachAttempt()
    {
        var approval = new ApprovalView(Guid.NewGuid(), "approve", null, At(2), null, "approved", "bob", At(62), null, false, [], Guid.NewGuid());
        var t = RunTimeline.Of(Run(64, [Step("train", (0.2, 1), (1.5, 2)), Step("promote", (62.5, 63.8))], [approval]))!;
        Assert.That(t.WaitingForPeople.TotalSeconds, Is.EqualTo(60).Within(1e-6));
        Assert.That(t.InSteps.TotalSeconds, Is.EqualTo(0.8 + 0.5 + 1.3).Within(1e-6));
        // 0.2 before the first claim, 0.5 between the attempts, 0.5 after the decision, 0.2 at the end.
        Assert.That(t.Orchestration.TotalSeconds, Is.EqualTo(1.4).Within(1e-6));
        Assert.That(t.OrchestrationShare, Is.EqualTo(1.4 / 4).Within(1e-6), "the share leaves the person's minute out");
    }

    [Test]
    public void AnUnfinishedRun_HasNoTimeline_AndACachedRunIsAllOrchestration()
    {
        Assert.That(RunTimeline.Of(Run(null, [Step("a", (0.1, null))])), Is.Null);
        var cached = RunTimeline.Of(Run(0.3, []))!;
        Assert.That(cached.Orchestration.TotalSeconds, Is.EqualTo(0.3).Within(1e-6));
        Assert.That(cached.FirstClaim, Is.Null);
    }

    [Test]
    public void AttemptsInAnyOrder_NestedOrOutsideTheRun_AreClippedAndMerged()
    {
        // Steps listed out of time order: c (3–4) first, then a (1–5) containing it, b (0.5–0.8), a stray attempt
        // recorded before the run's creation (−1–0.2) and one running on past its end (4.5–9).
        var t = RunTimeline.Of(Run(6, [Step("c", (3, 4)), Step("a", (1, 5)), Step("b", (0.5, 0.8)), Step("x", (-1, 0.2), (4.5, 9))]))!;
        // Union: 0–0.2, 0.5–0.8, 1–6 → 0.2 + 0.3 + 5 = 5.5.
        Assert.That(t.InSteps.TotalSeconds, Is.EqualTo(5.5).Within(1e-6));
        Assert.That(t.Orchestration.TotalSeconds, Is.EqualTo(0.5).Within(1e-6));
        Assert.That(t.FirstClaim!.Value.TotalSeconds, Is.EqualTo(-1).Within(1e-6), "the earliest attempt, whichever step holds it");
    }
}
