using Pipelines.Core.Definitions;
using static Pipelines.Core.Tests.TestYaml;

namespace Pipelines.Core.Tests.Validation;

/// <summary><c>on:</c>: what parses, and every error with its line, column and key.</summary>
public class TriggerValidationTests
{
    [Test]
    public void Parse_ReadsEveryKindWithWindowParamsAndSettle()
    {
        var def = WorkflowParser.Parse("""
            name: retrain
            parameters:
              data: { type: string, default: a.csv }
              reason: { type: string, default: "" }
            on:
              - monitor_alert: adult-income
                window: 24h
                params: { reason: "alert in ${{ event.batch }} (run ${{ event.run_id }})" }
              - workflow_succeeded: ingest-daily
              - file: incoming/**/*.csv
                settle: 0s
                params: { data: "${{ event.path }}" }
            steps: [{ id: s, uses: log, with: { message: "${{ params.data }}" } }]
            """, TestYaml.File);
        Assert.That(def.Triggers.Select(t => (t.Kind, t.Source, t.Window, t.Settle)), Is.EqualTo(new[]
        {
            (TriggerKind.MonitorAlert, "adult-income", (TimeSpan?)TimeSpan.FromHours(24), TriggerDefinition.DefaultSettle),
            (TriggerKind.WorkflowSucceeded, "ingest-daily", (TimeSpan?)null, TriggerDefinition.DefaultSettle),
            (TriggerKind.File, "incoming/**/*.csv", (TimeSpan?)null, TimeSpan.Zero),
        }));
        Assert.That(def.Triggers[0].Key, Is.EqualTo("monitor_alert:adult-income"));
        Assert.That(def.Triggers[2].Location, Is.EqualTo(new SourceLocation(TestYaml.File, 10, 5)));
        Assert.That(Errors(def.SourceText), Is.Empty);
    }

    [Test]
    public void Parse_ReportsMalformedEntriesWithTheirPositions()
    {
        var errors = Lines("""
            name: w
            on:
              - monitor_alert: m
                file: x/*.csv
              - window: 1h
              - workflow_succeeded: other
                window: soon
                settle: 5s
                when: now
            steps: [{ id: s, uses: log, with: { message: x } }]
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "4:5 on[0]: one event per entry; found monitor_alert and file (write a separate '- file: …' entry)",
            "5:5 on[1]: missing the event; one of: workflow_succeeded, monitor_alert, file",
            "7:13 on[2].window: invalid duration 'soon'; expected a duration such as 500ms, 10s, 5m, 1h, 1d or 1h30m",
            "8:5 on[2].settle: settle applies only to file events",
            "9:5 on[2].when: unknown key 'when'; expected one of: workflow_succeeded, monitor_alert, file, window, params, settle",
        }));
    }

    [Test]
    public void Validate_ChecksParamsEventFieldsRequiredParametersAndSelfTriggers()
    {
        var errors = Lines("""
            name: w
            parameters:
              data: { type: string }
              n: { type: integer, default: 1 }
            on:
              - file: in/*.csv
                params: { data: "${{ event.run_id }}", nope: 1 }
              - workflow_succeeded: w
                params: { data: "${{ params.n }}" }
              - monitor_alert: m
            steps: [{ id: s, uses: log, with: { message: "${{ event.path }}" } }]
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "7:15 on[0].params.data: a file event has no 'run_id'; it offers event.kind, event.occurred_at, event.path, event.name, event.size",
            "7:44 on[0].params.nope: unknown parameter 'nope'; declared: data, n",
            "8:5 on[1].workflow_succeeded: workflow 'w' cannot start on its own success (every run would start the next)",
            "9:15 on[1].params.data: 'params' cannot be used in a trigger's params; only the event's facts exist when it fires: event.kind, event.occurred_at, event.workflow, event.run_id, event.params",
            "10:5 on[2].monitor_alert: parameter 'data' is required and has no default; give it in this trigger's params, e.g. params: { data: ... }",
            "11:37 steps[0].with.message: 'event' is only available in the params of a trigger (on:); pass what a step needs as a parameter, e.g. params: { data: \"${{ event.path }}\" }",
        }));
    }

    [Test]
    public void Validate_RefusesTheSameEventTwice()
    {
        var errors = Lines("""
            name: w
            on:
              - monitor_alert: m
              - monitor_alert: m
                window: 1h
            steps: [{ id: s, uses: log, with: { message: x } }]
            """);
        Assert.That(errors, Is.EqualTo(new[] { "4:5 on[1].monitor_alert: 'monitor_alert: m' is declared twice; one entry per event" }));
    }
}

public class DurationFormatTests
{
    [TestCase("1d"), TestCase("1h30m"), TestCase("500ms"), TestCase("2d3h4m5s6ms"), TestCase("0s")]
    public void Format_ReadsBackAsTheSameDuration(string text) =>
        Assert.That(Durations.Format(Durations.Parse(text)), Is.EqualTo(text));

    [Test]
    public void Format_UsesTheLargestUnits() => Assert.That(Durations.Format(TimeSpan.FromHours(24)), Is.EqualTo("1d"));
}
