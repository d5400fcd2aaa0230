using Hangfire;

namespace Pipelines.Executors.Hangfire;

/// <summary>
/// The Hangfire job that runs one step attempt. Hangfire's own retry is off: a failed attempt is retried (or not) by the
/// engine's retry policy, and a lost server's attempt is rescued by the engine's lease, each as a new attempt with a
/// job of its own. The job's work is the engine's guarded claim, so a delivery of a job that already ran, or of an
/// attempt the engine has moved past, runs nothing.
/// </summary>
public sealed class StepJob(HangfireExecutor executor)
{
    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [JobDisplayName("{4}")]
    public Task RunAsync(Guid stepRunId, int attempt, Guid runId, string stepId, string displayName) =>
        executor.RunDeliveredAsync(stepRunId, attempt, runId, stepId);
}

internal sealed class StepJobActivator(HangfireExecutor executor) : JobActivator
{
    public override object ActivateJob(Type jobType) =>
        jobType == typeof(StepJob) ? new StepJob(executor) : throw new InvalidOperationException($"this Hangfire server runs Pipelines steps only, not {jobType}");
}
