using NUnit.Framework;
using Pipelines.Postgres.ActivityState;
using Pipelines.Testing;

namespace Pipelines.Activities.Model.Tests;

/// <summary>
/// Which tracking servers the leader's parent-run closer visits: those holding recorded parent runs whose pipeline
/// run has ended and that nobody closed, read from the keys <c>mlflow.parent_run/SERVER/RUN/EXPERIMENT</c> (a server
/// may have a path, an experiment slashes).
/// </summary>
public sealed class ParentRunRecordsTests
{
    private const string Workflow = """
        name: records
        steps:
          - id: s
            uses: log
            with: { message: hi }
        """;

    private const string Waits = """
        name: waits
        steps:
          - id: review
            uses: approval
            with:
              summary: { auc: 0.9 }
              timeout: 1h
        """;

    [Test]
    public async Task ServersWithEnded_AreThoseHoldingUnclosedParentRunsOfEndedRuns()
    {
        await using var h = await EngineHarness.CreateAsync();
        var ended = await h.SubmitAsync(Workflow);
        await h.StartWorkersAsync();
        await h.WaitForEndAsync(ended);
        await h.StopWorkersAsync();
        var open = await h.SubmitAsync(Waits); // waits for a decision: still running
        await h.WaitForStateAsync(open, r => r.Steps.Any(st => st.State == Pipelines.Engine.Model.StepState.Waiting), what: "the approval to wait");
        async Task Record(string key) =>
            await h.Database.ExecAsync("INSERT INTO activity_once (key, value, created_at) VALUES (@k, '{\"run_id\":\"r\"}', now())", ("k", key));
        var withPath = $"mlflow.parent_run/https://mlflow.example:443/tracking/{ended}/team/a/b";
        await Record($"mlflow.parent_run/built-in/{ended}/exp");
        await Record(withPath);
        await Record($"mlflow.parent_run/http://closed.example:80/{ended}/exp");
        await Record($"closed:mlflow.parent_run/http://closed.example:80/{ended}/exp");
        await Record($"mlflow.parent_run/http://open.example:80/{open}/exp");

        var records = new PostgresParentRuns(h.Database.DataSource);

        Assert.That(await records.ServersWithEndedAsync(), Is.EquivalentTo(new[] { "built-in", "https://mlflow.example:443/tracking" }));
        var there = await records.EndedAsync("mlflow.parent_run/https://mlflow.example:443/tracking/", 10);
        Assert.That(there.Select(e => e.Key), Is.EqualTo(new[] { withPath }));
    }
}
