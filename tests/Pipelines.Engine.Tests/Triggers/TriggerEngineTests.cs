using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Triggers;

/// <summary>Declared triggers (<c>on:</c>) against the real PostgreSQL: one test per event kind, and leaders racing.</summary>
public class TriggerEngineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private const string Upstream = """
        name: upstream
        steps: [{ id: a, uses: log, with: { message: up } }]
        """;

    [Test]
    public async Task WorkflowSucceeded_StartsOneRunPerSuccess_WithTheTriggeringRunInItsLineage()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load("""
            name: downstream
            parameters:
              source_run: { type: string, default: "" }
            on:
              - workflow_succeeded: upstream
                params: { source_run: "${{ event.run_id }}" }
            steps: [{ id: b, uses: log, with: { message: "after ${{ params.source_run }}" } }]
            """)]);
        time.Advance(TimeSpan.FromSeconds(1));
        var up = await h.SubmitAsync(Upstream);
        Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(0), "still running");
        var job = (await h.Store.ClaimAsync("w", ["default"], 1, TimeSpan.FromMinutes(1))).Single();
        await h.Store.CompleteAsync(new JobCompletion(job.StepRunId, job.RunId, 1, "w", AttemptOutcome.Succeeded, new() { ["message"] = "up" }, null, false, ""));

        Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(1));
        Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(0), "an event fires once");
        var down = (await h.Store.ListRunsAsync(new RunFilter("downstream"))).Single();
        Assert.That((down.Trigger, down.CreatedBy), Is.EqualTo(("event", "trigger:workflow_succeeded:upstream")));
        var details = await h.RunAsync(down.Id);
        Assert.That(details.Params["source_run"]!.GetValue<string>(), Is.EqualTo(up.ToString()));
        Assert.That(details.TriggeredBy, Is.Not.Null);
        Assert.That((details.TriggeredBy!.Kind, details.TriggeredBy.Source, details.TriggeredBy.EventKey), Is.EqualTo(("workflow_succeeded", "upstream", up.ToString())));
        Assert.That(details.TriggeredBy.Event["run_id"]!.GetValue<string>(), Is.EqualTo(up.ToString()));

        // Dropping the trigger from the file disables it: the next success starts nothing.
        await h.Store.SyncAsync([h.Load("name: downstream\nsteps: [{ id: b, uses: log, with: { message: x } }]")]);
        Assert.That((await h.Store.ListTriggersAsync()).Single().Enabled, Is.False);
    }

    [Test]
    public async Task MonitorAlerts_RacingLeaders_StartOneRunPerWindow()
    {
        var time = new ManualTime(T0);
        await using var h = await EngineHarness.CreateAsync(time);
        await h.Store.SyncAsync([h.Load("""
            name: retrain
            parameters:
              reason: { type: string, default: "" }
            on:
              - monitor_alert: adult-income
                window: 24h
                params: { reason: "${{ event.batch }}: max PSI ${{ event.max_psi }}" }
            steps: [{ id: b, uses: log, with: { message: "${{ params.reason }}" } }]
            """)]);
        async Task Batch(string verdict, DateTimeOffset at, string batch) =>
            await h.Database.ExecAsync("""
                INSERT INTO monitor_batches (monitor, run_id, step_id, batch, recorded_at, rows, verdict, max_psi, result)
                VALUES ('adult-income', @run, 'monitor', @batch, @at, 100, @verdict, 0.5, '{}')
                """, ("run", Guid.NewGuid()), ("batch", batch), ("at", at.UtcDateTime), ("verdict", verdict));

        // Three alerts (and a warning) in the same day, seen by six leaders at once.
        await Batch("alert", T0.AddMinutes(1), "b1");
        await Batch("alert", T0.AddMinutes(2), "b2");
        await Batch("warn", T0.AddMinutes(3), "b3");
        await Batch("alert", T0.AddMinutes(4), "b4");
        time.Advance(TimeSpan.FromMinutes(5));
        var leaders = Enumerable.Range(0, 6).Select(_ => h.NewStore()).ToList();
        var fired = await Task.WhenAll(leaders.Select(s => Task.Run(() => s.FireTriggersAsync())));

        Assert.That(fired.Sum(), Is.EqualTo(1));
        var run = (await h.Store.ListRunsAsync(new RunFilter("retrain"))).Single();
        Assert.That((await h.RunAsync(run.Id)).Params["reason"]!.GetValue<string>(), Is.EqualTo("b1: max PSI 0.5"), "the window's first alert");
        Assert.That(await h.Database.ScalarAsync<long>("SELECT count(*) FROM trigger_events WHERE deduplicated AND run_id = @r", ("r", run.Id)), Is.EqualTo(2));
        Assert.That((await h.RunAsync(run.Id)).TriggeredBy!.Deduplicated, Is.EqualTo(2));

        // The next day's alert starts the next retraining.
        await Batch("alert", T0.AddDays(1), "b5");
        time.Advance(TimeSpan.FromDays(1));
        Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(1));
        var list = (await h.Store.ListTriggersAsync()).Single();
        Assert.That((list.Events, list.RunsStarted), Is.EqualTo((4L, 2L)));
    }

    [Test]
    public async Task NewFile_FiresOnceWhenSettled_AndAgainWhenRewritten_ButNotForFilesAlreadyThere()
    {
        var folder = Directory.CreateTempSubdirectory("pipelines-trigger-");
        try
        {
            var time = new ManualTime(T0);
            await using var h = await EngineHarness.CreateAsync(time);
            void Write(string name, DateTimeOffset modified)
            {
                var path = Path.Combine(folder.FullName, name);
                File.WriteAllText(path, "a\n1\n");
                File.SetLastWriteTimeUtc(path, modified.UtcDateTime);
            }
            Write("old.csv", T0.AddMinutes(-5));
            var glob = folder.FullName + "/*.csv";
            await h.Store.SyncAsync([h.Load($$$"""
                name: ingest
                parameters:
                  data: { type: string }
                on:
                  - file: {{{glob}}}
                    settle: 5s
                    params: { data: "${{ event.path }}" }
                steps: [{ id: b, uses: log, with: { message: "${{ params.data }}" } }]
                """)]);
            Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(0), "the first scan records what is there");

            Write("batch-1.csv", T0.AddMinutes(1));
            Write("notes.txt", T0.AddMinutes(1));
            time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(2));
            Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(0), "changed 2 s ago; settles after 5 s");
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(1));
            Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(0), "the same file on the next poll is the same event");
            var run = (await h.Store.ListRunsAsync(new RunFilter("ingest"))).Single();
            var details = await h.RunAsync(run.Id);
            var file = Path.Combine(folder.FullName, "batch-1.csv");
            Assert.That(details.Params["data"]!.GetValue<string>(), Is.EqualTo(file));
            Assert.That(details.TriggeredBy!.Event["name"]!.GetValue<string>(), Is.EqualTo("batch-1.csv"));

            File.SetLastWriteTimeUtc(file, T0.AddMinutes(2).UtcDateTime);
            Write("moved-in.csv", T0.AddDays(-1)); // mv keeps the modification time
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(2), "a rewritten file and a file moved in are new events");
            Assert.That(await h.Store.ListRunsAsync(new RunFilter("ingest")), Has.Count.EqualTo(3));
            Assert.That((await h.Store.ListTriggersAsync()).Single().Events, Is.EqualTo(3), "the baseline is not counted as events");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
