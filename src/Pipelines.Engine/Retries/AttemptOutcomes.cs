using Pipelines.Core.Definitions;
using Pipelines.Engine.Model;

namespace Pipelines.Engine.Retries;

/// <summary>What becomes of a step whose attempt did not finish: tried again at a set time, or failed for good.</summary>
public abstract record FailedAttemptDecision(StepState StepState, AttemptState AttemptState, string? StepError)
{
    public sealed record Retry(DateTime At, AttemptState Attempt, string Error) : FailedAttemptDecision(StepState.Retrying, Attempt, Error);
    public sealed record Fail(AttemptState Attempt, string? Error) : FailedAttemptDecision(StepState.Failed, Attempt, Error);
}

/// <summary>
/// The retry rule, as a pure function of the attempt and the step's policy. The store only applies the decision
/// (writes the state, the error and when the step becomes available again).
/// </summary>
public static class AttemptOutcomes
{
    /// <param name="outcome">Failed or TimedOut; the other outcomes are terminal and need no decision.</param>
    /// <param name="retryable">The activity's verdict, or the transient-fault rule's (see <see cref="TransientFaults"/>).</param>
    /// <param name="unitRandom">A value in [0, 1) for the backoff's jitter.</param>
    public static FailedAttemptDecision DecideFailure(AttemptOutcome outcome, bool retryable, string? error, int attempt,
        RetryPolicy policy, bool cancelRequested, DateTime now, double unitRandom)
    {
        if (outcome is not (AttemptOutcome.Failed or AttemptOutcome.TimedOut))
            throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "only failed or timed-out attempts need a retry decision");
        var attemptState = outcome == AttemptOutcome.TimedOut ? AttemptState.TimedOut : AttemptState.Failed;
        // A timeout is not the activity's verdict on its input, so it is retried like a retryable error.
        var wantsRetry = retryable || outcome == AttemptOutcome.TimedOut;
        if (wantsRetry && attempt < policy.MaxAttempts && !cancelRequested)
            return new FailedAttemptDecision.Retry(now + RetryBackoff.Delay(policy, attempt, unitRandom), attemptState,
                $"{error} (attempt {attempt} of {policy.MaxAttempts}; retrying)");
        return new FailedAttemptDecision.Fail(attemptState, error);
    }
}
