using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;

namespace Pipelines.Core.Tests.Definitions;

public class WorkflowParserTests
{
    private static List<string> ParseErrors(string yaml)
    {
        var e = Assert.Throws<WorkflowValidationException>(() => WorkflowParser.Parse(yaml, "wf.yaml"))!;
        return e.Errors.Select(x => x.ToString()).ToList();
    }

    [Test]
    public void Parse_ReadsEveryField()
    {
        var def = WorkflowParser.Parse("""
            name: hello
            description: say hi
            parameters:
              greeting: { type: string, default: "hi", description: "how", enum: [hi, hello], pattern: "^h" }
              n: { type: integer, default: 3, minimum: 1, maximum: 10 }
              min_auc: { type: number, required: true }
            schedule:
              cron: "0 2 * * *"
              timezone: Europe/Amsterdam
              catch_up: all
              max_catch_up: 5
              max_concurrent_runs: 2
            steps:
              - id: r
                uses: range
                with: { count: 3 }
              - id: a
                uses: log@1
                with: { message: "${{ params.greeting }} ${{ steps.r.outputs.items }}" }
                needs: [b]
                if: params.n > 2
                retry: { max_attempts: 3, backoff: { initial: 1s, factor: 3, max: 1m, jitter: 0.5 } }
                timeout: 1h30m
                queue: gpu
                for_each: { items: "${{ steps.c.outputs.items }}", max_parallel: 4 }
                cache: false
            """, "wf.yaml");

        Assert.That(def.Name, Is.EqualTo("hello"));
        Assert.That(def.Description, Is.EqualTo("say hi"));
        Assert.That(def.Parameters.Select(p => (p.Name, p.Type, p.Required)), Is.EqualTo(new[]
        {
            ("greeting", ParameterType.String, false), ("n", ParameterType.Integer, false), ("min_auc", ParameterType.Number, true),
        }));
        var greeting = def.Parameters[0];
        Assert.That(greeting.Default!.GetValue<string>(), Is.EqualTo("hi"));
        Assert.That(greeting.Allowed!.Select(a => a!.GetValue<string>()), Is.EqualTo(new[] { "hi", "hello" }));
        Assert.That(greeting.Pattern, Is.EqualTo("^h"));
        Assert.That((def.Parameters[1].Minimum, def.Parameters[1].Maximum), Is.EqualTo((1.0, 10.0)));
        Assert.That(def.Schedule, Is.EqualTo(def.Schedule! with { Cron = "0 2 * * *", TimeZone = "Europe/Amsterdam", CatchUp = CatchUpPolicy.All, MaxCatchUp = 5, MaxConcurrentRuns = 2 }));

        var r = def.Steps[0];
        Assert.That((r.Uses, r.Version, r.Cache, r.Queue, r.Retry, r.Timeout), Is.EqualTo(("range", (string?)null, true, "default", RetryPolicy.None, (TimeSpan?)null)));
        var a = def.Steps[1];
        Assert.That((a.Uses, a.Version), Is.EqualTo(("log", "1")));
        Assert.That(a.Needs, Is.EqualTo(new[] { "b" }));
        Assert.That(a.DependsOn, Is.EqualTo(new[] { "b", "r", "c" }));
        Assert.That(a.If, Is.EqualTo("params.n > 2"));
        Assert.That(a.Retry, Is.EqualTo(new RetryPolicy(3, TimeSpan.FromSeconds(1), 3, TimeSpan.FromMinutes(1), 0.5)));
        Assert.That(a.Timeout, Is.EqualTo(TimeSpan.FromMinutes(90)));
        Assert.That(a.Queue, Is.EqualTo("gpu"));
        Assert.That(a.ForEach, Is.EqualTo(new ForEachDefinition("${{ steps.c.outputs.items }}", 4, new SourceLocation("wf.yaml", 25, 5))));
        Assert.That(a.Cache, Is.False);
    }

    [Test]
    public void Parse_RecordsLocationsOfStepKeys()
    {
        var def = WorkflowParser.Parse("""
            name: w
            steps:
              - id: a
                uses: log@1
                with:
                  message: hi
                  extra: [1, { k: v }]
                needs: [x, y]
                if: ${{ true }}
                retry: { max_attempts: 2 }
                for_each: { items: "${{ params.l }}" }
            """, "wf.yaml");
        var step = def.Steps[0];
        string At(string key) => $"{step.LocationOf(key).Line}:{step.LocationOf(key).Column}";
        Assert.That(step.Location, Is.EqualTo(new SourceLocation("wf.yaml", 3, 5)));
        Assert.That(At("uses"), Is.EqualTo("4:5"));
        Assert.That(At("with"), Is.EqualTo("5:5"));
        Assert.That(At("with.message"), Is.EqualTo("6:7"));
        Assert.That(At("with.extra[1].k"), Is.EqualTo("7:20"));
        Assert.That(At("needs[1]"), Is.EqualTo("8:16"));
        Assert.That(At("if"), Is.EqualTo("9:5"));
        Assert.That(At("retry.max_attempts"), Is.EqualTo("10:14"));
        Assert.That(At("for_each.items"), Is.EqualTo("11:17"));
    }

    [Test]
    public void Parse_AcceptsShorthands_ForNeedsRetryAndForEach()
    {
        var def = WorkflowParser.Parse("""
            name: w
            steps:
              - id: a
                uses: log
                needs: b
                retry: 4
                for_each: ${{ params.list }}
            """, "wf.yaml");
        var step = def.Steps[0];
        Assert.That(step.Needs, Is.EqualTo(new[] { "b" }));
        Assert.That(step.Retry, Is.EqualTo(RetryPolicy.None with { MaxAttempts = 4 }));
        Assert.That(step.ForEach!.Items, Is.EqualTo("${{ params.list }}"));
        Assert.That(step.ForEach.MaxParallel, Is.EqualTo(0));
    }

    [Test]
    public void Parse_TypesScalarsWithYaml12CoreSchema()
    {
        var def = WorkflowParser.Parse("""
            name: w
            steps:
              - id: a
                uses: log
                with:
                  t: true
                  f: False
                  qt: "true"
                  i: 42
                  neg: -7
                  hex: 0x1F
                  oct: 0o17
                  big: 123456789012345678901
                  fl: 1.5e3
                  n1: null
                  n2: ~
                  n3:
                  yes: yes
                  on: on
                  zero: 012
                  s: '3'
                  ver: 1.2.3
                  block: |
                    line
            """, "wf.yaml");
        Assert.That(def.Steps[0].With.ToJsonString(), Is.EqualTo(
            """{"t":true,"f":false,"qt":"true","i":42,"neg":-7,"hex":31,"oct":15,"big":1.2345678901234568E+20,"fl":1500,"n1":null,"n2":null,"n3":null,"yes":"yes","on":"on","zero":12,"s":"3","ver":"1.2.3","block":"line"}"""));
    }

    [Test]
    public void Parse_ReportsLineAndColumn_WhenKeyUnknown()
    {
        var errors = ParseErrors("""
            name: w
            steps:
              - id: a
                uses: log
                neds: [b]
            """);
        Assert.That(errors, Is.EqualTo(new[] { "wf.yaml:5:5: steps[0].neds: unknown key 'neds'; expected one of: id, uses, with, needs, if, retry, timeout, queue, for_each, cache" }));
    }

    [Test]
    public void Parse_ReportsUnknownKeys_AtEveryLevel()
    {
        var errors = ParseErrors("""
            name: w
            nmae: x
            parameters:
              p: { type: string, defualt: 1 }
            schedule: { cron: "* * * * *", tz: UTC }
            steps:
              - id: a
                uses: log
                retry: { max_attempts: 2, backof: {} }
                for_each: { items: "${{ params.p }}", parallel: 2 }
              - id: b
                uses: log
                retry: { backoff: { inital: 1s } }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "wf.yaml:2:1: nmae: unknown key 'nmae'; expected one of: name, description, parameters, schedule, on, steps",
            "wf.yaml:4:22: parameters.p.defualt: unknown key 'defualt'; expected one of: type, default, required, description, enum, minimum, maximum, pattern",
            "wf.yaml:5:32: schedule.tz: unknown key 'tz'; expected one of: cron, timezone, catch_up, max_catch_up, max_concurrent_runs",
            "wf.yaml:9:31: steps[0].retry.backof: unknown key 'backof'; expected one of: max_attempts, backoff",
            "wf.yaml:10:43: steps[0].for_each.parallel: unknown key 'parallel'; expected one of: items, max_parallel",
            "wf.yaml:13:25: steps[1].retry.backoff.inital: unknown key 'inital'; expected one of: initial, factor, max, jitter",
        }));
    }

    [TestCase("name: t\nsteps:\n  - id: a\n\tuses: log\n", "wf.yaml:4:1")]
    [TestCase("name: t\nsteps:\n  - id: a\n    uses: log\n    with:\n\tmessage: hi\n", "wf.yaml:6:1")]
    [TestCase("name: t\n\tsteps: []\n", "wf.yaml:2:1")]
    [TestCase("name: t\nsteps:\n  - id: a\n  \t uses: log\n", "wf.yaml:4:3")]
    public void Parse_ReportsATabInIndentation_WhereTheTabIs(string yaml, string location)
    {
        var errors = ParseErrors(yaml);
        Assert.That(errors, Is.EqualTo(new[] { $"{location}: yaml: tab character in indentation; YAML indents with spaces only" }));
    }

    [Test]
    public void Parse_ReportsMalformedYaml_WithLocation()
    {
        var errors = ParseErrors("""
            name: w
            steps:
              - id: a
                uses: [log
            """);
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("wf.yaml:5:1: yaml: "));
    }

    [Test]
    public void Parse_ReportsDuplicateKeys()
    {
        var errors = ParseErrors("""
            name: w
            steps:
              - id: a
                uses: log
                uses: sleep
            """);
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("wf.yaml:5:5: yaml: ").And.Contain("uplicate key"));
    }

    [Test]
    public void Parse_ReportsWrongNodeKinds()
    {
        var errors = ParseErrors("""
            name: [w]
            parameters: [a]
            steps:
              - just-a-string
              - id: b
                uses: { kind: log }
                with: [1]
                needs: { a: 1 }
                cache: maybe
                retry: { max_attempts: two }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "wf.yaml:1:7: name: expected a string, got a sequence",
            "wf.yaml:2:13: parameters: expected a mapping of parameter names to specs, got a sequence",
            "wf.yaml:4:5: steps[0]: expected a mapping with keys id, uses, with, needs, if, retry, timeout, queue, for_each, cache, got 'just-a-string'",
            "wf.yaml:6:11: steps[1].uses: expected a string, got a mapping",
            "wf.yaml:7:11: steps[1].with: expected a mapping of inputs, got a sequence",
            "wf.yaml:8:12: steps[1].needs: expected a step id or a sequence of step ids, got a mapping",
            "wf.yaml:9:12: steps[1].cache: expected true or false, got 'maybe'",
            "wf.yaml:10:28: steps[1].retry.max_attempts: expected an integer, got 'two'",
        }));
    }

    [Test]
    public void Parse_ReportsMissingRequiredKeys()
    {
        var errors = ParseErrors("""
            description: no name
            parameters:
              p: { default: 1 }
            schedule: { timezone: UTC }
            steps:
              - uses: log
              - id: b
              - id: c
                uses: log
                for_each: { max_parallel: 2 }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "wf.yaml:1:1: name: missing key 'name'",
            "wf.yaml:3:3: parameters.p.type: missing key 'type'; one of: string, integer, number, boolean, array, object",
            "wf.yaml:4:1: schedule.cron: missing key 'cron', e.g. cron: \"0 2 * * *\"",
            "wf.yaml:6:5: steps[0].id: missing key 'id'",
            "wf.yaml:7:5: steps[1].uses: missing key 'uses', e.g. uses: log@1",
            "wf.yaml:10:5: steps[2].for_each.items: missing key 'items'",
        }));
    }

    [TestCase("steps: []", "wf.yaml:2:8: steps: a workflow needs at least one step")]
    [TestCase("steps: {}", "wf.yaml:2:8: steps: expected a sequence of steps, got a mapping")]
    [TestCase("x: 1", "wf.yaml:2:1: x: unknown key 'x'; expected one of: name, description, parameters, schedule, on, steps")]
    public void Parse_ReportsBadStepsSection(string line, string expected)
    {
        var errors = ParseErrors("name: w\n" + line + "\n");
        Assert.That(errors, Does.Contain(expected));
    }

    [TestCase("Hello", "wf.yaml:1:7: name: invalid workflow name 'Hello'; use lower-case letters, digits, '_' and '-', starting with a letter or digit")]
    [TestCase("-x", "wf.yaml:1:7: name: invalid workflow name '-x'; use lower-case letters, digits, '_' and '-', starting with a letter or digit")]
    public void Parse_RejectsInvalidWorkflowName(string name, string expected)
    {
        var errors = ParseErrors($"name: {name}\nsteps:\n  - {{ id: a, uses: log }}\n");
        Assert.That(errors, Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void Parse_RejectsInvalidStepIdAndUses()
    {
        var errors = ParseErrors("""
            name: w
            steps:
              - id: Bad.Id
                uses: log@
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "wf.yaml:3:9: steps[0].id: invalid step id 'Bad.Id'; use lower-case letters, digits, '_' and '-', starting with a letter or '_'",
            "wf.yaml:4:11: steps[0].uses: malformed uses 'log@'; expected kind or kind@version",
        }));
    }

    [TestCase("500ms", 500)]
    [TestCase("10s", 10_000)]
    [TestCase("5m", 300_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("1d", 86_400_000)]
    [TestCase("1h30m", 5_400_000)]
    [TestCase("1m30s250ms", 90_250)]
    public void Durations_ParseUnitsAndCombinations(string text, long ms)
    {
        Assert.That(Durations.TryParse(text, out var value), Is.True);
        Assert.That(value, Is.EqualTo(TimeSpan.FromMilliseconds(ms)));
    }

    [TestCase("")]
    [TestCase("10")]
    [TestCase("1.5h")]
    [TestCase("30m1h")]
    [TestCase("1 h")]
    [TestCase("5 minutes")]
    public void Durations_RejectMalformedText(string text) => Assert.That(Durations.TryParse(text, out _), Is.False);

    [Test]
    public void Parse_ReportsBadDurations_WithLocation()
    {
        var errors = ParseErrors("""
            name: w
            steps:
              - id: a
                uses: log
                timeout: 10 minutes
                retry: { backoff: { initial: 0s, max: soon } }
              - id: b
                uses: log
                timeout: 0s
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "wf.yaml:5:14: steps[0].timeout: invalid duration '10 minutes'; expected a duration such as 500ms, 10s, 5m, 1h, 1d or 1h30m",
            "wf.yaml:6:43: steps[0].retry.backoff.max: invalid duration 'soon'; expected a duration such as 500ms, 10s, 5m, 1h, 1d or 1h30m",
            "wf.yaml:9:14: steps[1].timeout: duration must be greater than zero, got '0s'",
        }));
    }

    [Test]
    public void Parse_ReportsUnknownCatchUpAndParameterType()
    {
        var errors = ParseErrors("""
            name: w
            parameters:
              p: { type: str }
            schedule: { cron: "* * * * *", catch_up: sometimes }
            steps: [{ id: a, uses: log }]
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "wf.yaml:3:14: parameters.p.type: unknown type 'str'; one of: string, integer, number, boolean, array, object",
            "wf.yaml:4:42: schedule.catch_up: unknown catch_up 'sometimes'; one of: skip, latest, all",
        }));
    }

    [Test]
    public void Parse_AppliesDefaults()
    {
        var def = WorkflowParser.Parse("""
            name: w
            parameters:
              p: { type: string }
              q: { type: integer, default: 1 }
            schedule: { cron: "* * * * *" }
            steps: [{ id: a, uses: log }]
            """, "wf.yaml");
        Assert.That(def.Parameters.Select(p => p.Required), Is.EqualTo(new[] { true, false }));
        Assert.That((def.Schedule!.TimeZone, def.Schedule.CatchUp, def.Schedule.MaxCatchUp, def.Schedule.MaxConcurrentRuns),
            Is.EqualTo(("UTC", CatchUpPolicy.Skip, 10, 1)));
        Assert.That(def.Steps[0].With, Is.Empty);
    }

    [Test]
    public void Parse_KeepsSourceTextAndHash()
    {
        const string yaml = "name: w\nsteps: [{ id: a, uses: log }]\n";
        var def = WorkflowParser.Parse(yaml, "wf.yaml");
        Assert.That(def.SourceText, Is.EqualTo(yaml));
        Assert.That(def.SourcePath, Is.EqualTo("wf.yaml"));
        Assert.That(def.ContentHash, Has.Length.EqualTo(64));
    }

    [Test]
    public void Parse_ReportsEmptyFile() =>
        Assert.That(ParseErrors(""), Is.EqualTo(new[] { "wf.yaml:1:1: yaml: the file is empty; a workflow needs at least name and steps" }));

    [Test]
    public void Parse_ReportsNonJsonNumbers()
    {
        var errors = ParseErrors("name: w\nsteps: [{ id: a, uses: log, with: { x: .inf } }]\n");
        Assert.That(errors, Is.EqualTo(new[] { "wf.yaml:2:40: with.x: '.inf' is not a number JSON can represent" }));
    }

    [Test]
    public void Parse_OrdersDependsOn_NeedsThenWithThenIfThenForEach()
    {
        var def = WorkflowParser.Parse("""
            name: w
            steps:
              - id: a
                uses: log
                for_each: "${{ steps.f.outputs.x }}"
                if: steps.i.outputs.x && steps.w2.outputs.x
                with: { m: "${{ steps.w1.outputs.x }}", n: ["${{ steps.w2.outputs.x }}"], o: "${{ broken" }
                needs: [n, w1]
            """, "wf.yaml");
        Assert.That(def.Steps[0].DependsOn, Is.EqualTo(new[] { "n", "w1", "w2", "i", "f" }));
    }

    [Test]
    public void Parse_ReportsSecondDocument()
    {
        var errors = ParseErrors("name: w\nsteps: [{ id: a, uses: log }]\n---\nname: x\n");
        Assert.That(errors, Is.EqualTo(new[] { "wf.yaml:4:1: yaml: a workflow file holds exactly one YAML document" }));
    }

    [Test]
    public void Parse_RejectsRequiredParameterWithDefault()
    {
        var errors = ParseErrors("name: w\nparameters:\n  p: { type: integer, default: 1, required: true }\nsteps: [{ id: a, uses: log }]\n");
        Assert.That(errors, Is.EqualTo(new[] { "wf.yaml:3:35: parameters.p.required: a parameter with a default cannot be required" }));
    }
}
