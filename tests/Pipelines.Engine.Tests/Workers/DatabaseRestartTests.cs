using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Workers;

/// <summary>
/// The README promises that runs survive a database restart. Here PostgreSQL is restarted three times while a
/// 64-item fan-out runs, and each item talks to the database mid-attempt, as scoring and ingest do: attempts that the
/// restart breaks must be retried by rule (the error is transient), and the run must succeed without a manual retry.
/// </summary>
[NonParallelizable]
public class DatabaseRestartTests
{
    [Test]
    public async Task PostgresRestartedRepeatedly_DuringAWideFanOut_TheRunSucceedsWithoutAManualRetry()
    {
        // Four attempts per item: each of the three restarts may break an item once; the fourth try must then succeed.
        var (details, log) = await DatabaseRestartScenario.RunAsync(items: 64, restarts: 3, maxAttempts: 4, workers: 2, TimeSpan.FromSeconds(120));
        Assert.That(details!.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + "\n" + log);
        var items = details.Steps.Where(s => s.StepId == "each" && s.ItemIndex is not null).ToList();
        Assert.That(items, Has.Count.EqualTo(64));
        Assert.That(items.All(s => s.State == StepState.Succeeded));
        // Proof that the restarts hit attempts mid-query (otherwise this test would prove nothing).
        var broken = items.SelectMany(s => s.Attempts).Where(a => a.State == AttemptState.Failed).ToList();
        Assert.That(broken, Is.Not.Empty, "no attempt was interrupted by a restart");
        Assert.That(items.All(s => s.Attempts.Last().State == AttemptState.Succeeded));
    }
}
