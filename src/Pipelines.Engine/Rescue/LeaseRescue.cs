using Pipelines.Engine.Model;

namespace Pipelines.Engine.Rescue;

/// <summary>What the leader does with a step whose worker stopped renewing its lease.</summary>
public sealed record RescueDecision(StepState State, string? Error, bool Final);

/// <summary>
/// The rescue rule as a pure function: a step asked to cancel is cancelled; otherwise it goes back to the queue,
/// until it has lost its worker <c>maxRescues</c> times (a step that kills every worker that runs it must not
/// take the whole pool down forever). The PostgreSQL store only applies the decision.
/// </summary>
public static class LeaseRescue
{
    /// <param name="rescuesSoFar">How many times this step was rescued before.</param>
    /// <param name="previousError">The step's error before this rescue (kept when it is requeued).</param>
    public static RescueDecision Decide(bool cancelRequested, int rescuesSoFar, int maxRescues, string? previousError)
    {
        if (cancelRequested) return new RescueDecision(StepState.Cancelled, "cancelled", Final: true);
        if (rescuesSoFar < maxRescues) return new RescueDecision(StepState.Available, previousError, Final: false);
        return new RescueDecision(StepState.Failed, $"worker lost {rescuesSoFar + 1} times; giving up", Final: true);
    }
}
