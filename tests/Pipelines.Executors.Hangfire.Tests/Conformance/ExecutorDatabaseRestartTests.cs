using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Executors.Hangfire.Tests.Conformance;

/// <summary>
/// The engine's database-restart case, once per executor (part of <see cref="ExecutorConformanceTests"/>): PostgreSQL
/// (the engine's storage and, under Hangfire, Hangfire's too) restarts twice while a fan-out runs and each item holds
/// a query open; the run must succeed with every item's last attempt succeeded, and no item succeeding twice.
/// </summary>
[NonParallelizable]
[TestFixture(ExecutorKind.Native)]
[TestFixture(ExecutorKind.Hangfire)]
public class ExecutorDatabaseRestartTests(ExecutorKind kind)
{
    private static readonly HangfireExecutorOptions Options = new() { QueuePollInterval = TimeSpan.FromMilliseconds(200) };

    [Test]
    public async Task PostgresRestarted_DuringAFanOut_TheRunSucceeds_EachItemOnce()
    {
        var (details, log) = await DatabaseRestartScenario.RunAsync(items: 16, restarts: 2, maxAttempts: 4, workers: 1, TimeSpan.FromSeconds(90),
            kind == ExecutorKind.Native ? null : (db, store, wakeups) => new HangfireExecutor(db, store, wakeups, Options));
        Assert.That(details!.Run.State, Is.EqualTo(RunState.Succeeded), details.Run.Error + "\n" + log);
        var items = details.Steps.Where(s => s.StepId == "each" && s.ItemIndex is not null).ToList();
        Assert.That(items, Has.Count.EqualTo(16));
        Assert.That(items.All(s => s.State == StepState.Succeeded));
        Assert.That(items.All(s => s.Attempts.Last().State == AttemptState.Succeeded));
        Assert.That(items.Select(s => s.Attempts.Count(a => a.State == AttemptState.Succeeded)), Is.All.EqualTo(1), "no item ran to success twice");
        var broken = items.SelectMany(s => s.Attempts).Where(a => a.State != AttemptState.Succeeded).ToList();
        Assert.That(broken, Is.Not.Empty, "no attempt was interrupted by a restart");
    }
}
