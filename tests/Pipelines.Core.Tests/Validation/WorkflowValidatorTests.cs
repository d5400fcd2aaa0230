using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using static Pipelines.Core.Tests.TestYaml;

namespace Pipelines.Core.Tests.Validation;

public class WorkflowValidatorTests
{
    // The library grows; the message lists whatever is registered, in ordinal order.
    private static string KnownKinds => string.Join(", ", Registry.All.Select(d => d.Kind).Distinct().Order(StringComparer.Ordinal));

    [Test]
    public void Validate_AcceptsAValidWorkflow()
    {
        var errors = Lines("""
            name: ok
            parameters:
              n: { type: integer, default: 2 }
              who: { type: string, default: "ada" }
            steps:
              - id: r
                uses: range@1
                with: { count: "${{ params.n }}" }
              - id: each
                uses: sleep
                for_each: { items: "${{ steps.r.outputs.items }}" }
                with: { ms: "${{ item * 10 + index }}" }
              - id: gate
                uses: approval
                with: { summary: { who: "${{ params.who }}" }, approvers: [ada, bob] }
              - id: last
                uses: log
                if: steps.gate.outputs.approved && length(steps.each.outputs.slept_ms) > 0
                with: { message: "slept ${{ steps.each.outputs.slept_ms }}" }
            """);
        Assert.That(errors, Is.Empty);
    }

    [Test]
    public void Validate_ReportsDuplicateStepIds()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                with: { message: x }
              - id: a
                uses: log
                with: { message: y }
            """);
        Assert.That(errors, Is.EqualTo(new[] { "6:5 steps[1].id: duplicate step id 'a'; first defined at wf.yaml:3:5" }));
    }

    [Test]
    public void Validate_ReportsUnknownKindAndVersion_ListingKnownOnes()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: lgo
              - id: b
                uses: log@9
                with: { message: x }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            $"4:5 steps[0].uses: unknown activity kind 'lgo'; known kinds: {KnownKinds}",
            "6:5 steps[1].uses: activity 'log' has no version '9'; known versions: 1",
        }));
    }

    [Test]
    public void Validate_ReportsUnknownAndSelfNeeds()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                with: { message: x }
                needs: [a, nope]
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "6:13 steps[0].needs[0]: step 'a' needs itself",
            "6:16 steps[0].needs[1]: needs unknown step 'nope'; steps: a",
        }));
    }

    [Test]
    public void Validate_ReportsExpressionReferencesToUnknownStepsParamsAndOutputs()
    {
        var errors = Lines("""
            name: w
            parameters:
              p: { type: string, default: x }
            steps:
              - id: r
                uses: range
                with: { count: 2 }
              - id: a
                uses: log
                with:
                  message: "${{ steps.ghost.outputs.x }} ${{ params.q }} ${{ steps.r.outputs.itemz }} ${{ steps.r.value }}"
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "11:7 steps[1].with.message: expression references unknown step 'ghost'; steps: r, a",
            "11:7 steps[1].with.message: unknown parameter 'q'; declared: p",
            "11:7 steps[1].with.message: step 'r' (range@1) has no output 'itemz'; outputs: items",
            "11:7 steps[1].with.message: expected steps.r.outputs.<name> in 'steps.r.value'",
        }));
    }

    [Test]
    public void Validate_ReportsStepReferencingItself()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                with: { message: "${{ steps.a.outputs.message }}" }
            """);
        Assert.That(errors, Is.EqualTo(new[] { "5:13 steps[0].with.message: step 'a' references its own outputs in 'steps.a.outputs.message'" }));
    }

    [Test]
    public void Validate_ReportsCycle_WithPath()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                with: { message: "${{ steps.c.outputs.message }}" }
              - id: b
                uses: log
                needs: a
                with: { message: x }
              - id: c
                uses: log
                needs: [b]
                with: { message: x }
              - id: d
                uses: log
                needs: [d2]
                with: { message: x }
              - id: d2
                uses: log
                needs: [d]
                with: { message: x }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "3:5 steps[0]: dependency cycle: a -> c -> b -> a",
            "14:5 steps[3]: dependency cycle: d -> d2 -> d",
        }));
    }

    [Test]
    public void Validate_ReportsMissingRequiredAndUnknownInputs()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                with:
                  mesage: hi
              - id: b
                uses: sleep
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "5:5 steps[0].with: missing required input 'message' for log@1",
            "6:7 steps[0].with.mesage: unknown input 'mesage' for log@1; inputs: message",
            "7:5 steps[1].with: missing required input 'ms' for sleep@1",
        }));
    }

    [Test]
    public void Validate_ReportsLiteralTypeMismatches()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: sleep
                with: { ms: "100" }
              - id: b
                uses: range
                with: { count: 2.5, start: null }
              - id: c
                uses: approval
                with: { approvers: [ann, 7], allow_self_approval: yes }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "5:13 steps[0].with.ms: input 'ms' expects integer, got string \"100\"",
            "8:13 steps[1].with.count: input 'count' expects integer, got number 2.5",
            "8:25 steps[1].with.start: input 'start' expects integer, got null null",
            "11:30 steps[2].with.approvers[1]: input 'approvers' item 1 expects string, got integer 7",
            "11:34 steps[2].with.allow_self_approval: input 'allow_self_approval' expects boolean, got string \"yes\"",
        }));
    }

    [Test]
    public void Validate_RefusesAnAutoApproveThatWhoeverStartsTheRunCouldSet()
    {
        var errors = Lines("""
            name: w
            parameters:
              yes: { type: boolean, default: false }
            steps:
              - id: gate
                uses: noop
              - id: by_param
                uses: approval
                with: { auto_approve: "${{ params.yes }}" }
              - id: by_run
                uses: approval
                with: { auto_approve: "${{ run.created_by == 'ann' }}" }
              - id: by_gate
                uses: approval
                with: { auto_approve: "${{ steps.gate.outputs.value }}", summary: "${{ params.yes }}" }
              - id: by_author
                uses: approval
                with: { auto_approve: false }
            """);
        Assert.That(errors, Has.Count.EqualTo(2), string.Join("\n", errors));
        Assert.That(errors[0], Does.StartWith("9:").And.Contain("steps[1].with.auto_approve: auto_approve must come from a step's outputs"));
        Assert.That(errors[1], Does.StartWith("12:").And.Contain("steps[2].with.auto_approve"));
    }

    [Test]
    public void Validate_ReportsExpressionTypeMismatches_WhereTypeIsKnown()
    {
        var errors = Lines("""
            name: w
            parameters:
              name: { type: string, default: x }
              n: { type: integer, default: 1 }
              auc: { type: number, default: 0.5 }
            steps:
              - id: r
                uses: range
                with: { count: "${{ params.name }}" }
              - id: s
                uses: sleep
                with: { ms: "${{ params.n }}0" }
              - id: t
                uses: sleep
                with: { ms: "${{ params.auc }}" }
              - id: u
                uses: sleep
                with: { ms: "${{ steps.r.outputs.items }}" }
              - id: v
                uses: sleep
                with: { ms: "${{ length(params.name) * params.n }}" }
              - id: w
                uses: range
                with: { count: "${{ fromJson('3') }}" }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "9:13 steps[0].with.count: input 'count' expects integer, but the expression yields string",
            "12:13 steps[1].with.ms: input 'ms' expects integer, but the expression yields string",
            "15:13 steps[2].with.ms: input 'ms' expects integer, but the expression yields number",
            "18:13 steps[3].with.ms: input 'ms' expects integer, but the expression yields array",
        }));
    }

    [Test]
    public void Validate_ReportsOperatorTypeErrors_InExpressions()
    {
        var errors = Lines("""
            name: w
            parameters:
              name: { type: string, default: x }
            steps:
              - id: a
                uses: log
                if: params.name < 1
                with: { message: "${{ params.name - 1 }}" }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "7:5 steps[0].if: cannot compare string with integer using '<' at position 13 in 'params.name < 1'",
            "8:13 steps[0].with.message: cannot apply '-' to string and integer at position 13 in 'params.name - 1'",
        }));
    }

    [Test]
    public void Validate_TypesForEachOutputsAsArrays()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: r
                uses: range
                with: { count: 2 }
              - id: each
                uses: sleep
                for_each: { items: "${{ steps.r.outputs.items }}" }
                with: { ms: "${{ item }}" }
              - id: total
                uses: sleep
                with: { ms: "${{ steps.each.outputs.slept_ms }}" }
            """);
        Assert.That(errors, Is.EqualTo(new[] { "12:13 steps[2].with.ms: input 'ms' expects integer, but the expression yields array" }));
    }

    [Test]
    public void Validate_ReportsItemAndIndexOutsideForEach()
    {
        var errors = Lines("""
            name: w
            parameters:
              l: { type: array, default: [1] }
            steps:
              - id: a
                uses: log
                with: { message: "${{ item }} ${{ index }}" }
              - id: b
                uses: log
                for_each: { items: "${{ index }}" }
                with: { message: "${{ item }}" }
              - id: c
                uses: log
                for_each: "${{ params.l }}"
                if: index > 0
                with: { message: "i=${{ index }}" }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "7:13 steps[0].with.message: 'item' can only be used in a step with for_each",
            "7:13 steps[0].with.message: 'index' can only be used in a step with for_each",
            "10:17 steps[1].for_each.items: 'index' cannot be used in for_each.items; it is the list being iterated",
            "10:17 steps[1].for_each.items: for_each.items must yield an array, but the expression yields integer",
            "15:5 steps[2].if: 'index' cannot be used in if; the condition is decided once for the whole step, before the fan-out",
        }));
    }

    [Test]
    public void Validate_ReportsForEachItemsThatAreNotOneExpression()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                for_each: { items: "list: ${{ 1 }}", max_parallel: -1 }
                with: { message: x }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "5:17 steps[0].for_each.items: for_each.items must be a single ${{ … }} expression that yields an array",
            "5:42 steps[0].for_each.max_parallel: max_parallel must be 0 (unlimited) or more, got -1",
        }));
    }

    [Test]
    public void Validate_ReportsMalformedExpressions_WithLocation()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                if: "${{ 1 + }}"
                with:
                  message: "hello ${{ params.x"
              - id: b
                uses: log
                with: { message: "${{ foo }}" }
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "5:5 steps[0].if: malformed expression: unexpected end of expression at position 4 in '1 +'",
            "7:7 steps[0].with.message: malformed expression: '${{' without a closing '}}' at position 7 in 'hello ${{ params.x'",
            "10:13 steps[1].with.message: malformed expression: unknown name 'foo'; expressions start with params, steps, item, index, run, event at position 1 in 'foo'",
        }));
    }

    [Test]
    public void Validate_ReportsRetryBounds()
    {
        var errors = Lines("""
            name: w
            steps:
              - id: a
                uses: log
                with: { message: x }
                retry: { max_attempts: 0, backoff: { factor: 0.5, jitter: 2, initial: 1m, max: 1s } }
              - id: b
                uses: log
                with: { message: x }
                retry: 0
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "6:14 steps[0].retry.max_attempts: max_attempts must be at least 1, got 0",
            "6:42 steps[0].retry.backoff.factor: backoff factor must be at least 1, got 0.5",
            "6:55 steps[0].retry.backoff.jitter: backoff jitter must be between 0 and 1, got 2",
            "6:79 steps[0].retry.backoff.max: backoff max (00:00:01) is less than initial (00:01:00)",
            "10:12 steps[1].retry.max_attempts: max_attempts must be at least 1, got 0",
        }));
    }

    [Test]
    public void Validate_ReportsParameterDefaultsViolatingConstraints()
    {
        var errors = Lines("""
            name: w
            parameters:
              a: { type: integer, default: 20, minimum: 1, maximum: 10 }
              b: { type: string, default: hey, enum: [hi, hello] }
              c: { type: string, default: x1, pattern: "^[a-z]+$" }
              d: { type: number, default: "0.5" }
              e: { type: integer, default: 0, minimum: 1 }
              f: { type: boolean, enum: [true, 1], minimum: 0 }
              g: { type: string, pattern: "([", default: x }
            steps: [{ id: s, uses: log, with: { message: x } }]
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "3:23 parameters.a.default: default must be at most 10; got 20",
            "4:22 parameters.b.default: default must be one of \"hi\", \"hello\"; got \"hey\"",
            "5:22 parameters.c.default: default must match pattern '^[a-z]+$'; got \"x1\"",
            "6:22 parameters.d.default: default expected number, got string \"0.5\"",
            "7:23 parameters.e.default: default must be at least 1; got 0",
            "8:36 parameters.f.enum[1]: enum value 1 is integer, but the parameter is boolean",
            "8:40 parameters.f.minimum: minimum applies to numbers, but the parameter is boolean",
            "9:22 parameters.g.pattern: invalid regular expression '(['",
        }));
    }

    [Test]
    public void Validate_ReportsScheduleProblems()
    {
        var errors = Lines("""
            name: w
            schedule:
              cron: "0 2 * * *"
              timezone: Mars/Olympus
              max_catch_up: 0
              max_concurrent_runs: 0
            steps: [{ id: s, uses: log, with: { message: x } }]
            """);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "4:3 schedule.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as UTC or Europe/Amsterdam",
            "5:3 schedule.max_catch_up: max_catch_up must be at least 1, got 0",
            "6:3 schedule.max_concurrent_runs: max_concurrent_runs must be at least 1, got 0",
        }));
    }

    [Test]
    public void Validate_ReportsErrorsAsFileLineColumnKeyMessage()
    {
        var e = Assert.Throws<WorkflowValidationException>(() =>
            WorkflowValidator.LoadText("name: w\nsteps:\n  - { id: a, uses: nope }\n", "dir/wf.yaml", Registry))!;
        Assert.That(e.Errors.Single().ToString(), Is.EqualTo($"dir/wf.yaml:3:14: steps[0].uses: unknown activity kind 'nope'; known kinds: {KnownKinds}"));
    }

    [Test]
    public void Validate_ComputesDependsOn_FromNeedsAndExpressions()
    {
        var def = WorkflowParser.Parse("""
            name: w
            steps:
              - { id: a, uses: range, with: { count: 1 } }
              - { id: b, uses: log, with: { message: x } }
              - id: c
                uses: log
                needs: [b]
                if: ${{ steps.a.outputs.items != null }}
                for_each: { items: "${{ steps.a.outputs.items }}" }
                with: { message: "${{ steps.b.outputs.message }} ${{ steps.a.outputs.items }}" }
            """, "wf.yaml");
        Assert.That(def.Steps[2].DependsOn, Is.EqualTo(new[] { "b", "a" }));
        Assert.That(WorkflowValidator.Validate(def, Registry), Is.Empty);
    }
}
