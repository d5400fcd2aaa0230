using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;

namespace Pipelines.Core.Tests.Definitions;

public class ParameterBinderTests
{
    private static readonly WorkflowDefinition Definition = WorkflowParser.Parse("""
        name: w
        parameters:
          greeting: { type: string, default: hi, enum: [hi, hello] }
          n: { type: integer, default: 3, minimum: 1, maximum: 10 }
          min_auc: { type: number, required: true }
          dry_run: { type: boolean, default: false }
          tags: { type: array, default: [] }
          cfg: { type: object, default: { depth: 6 } }
          code: { type: string, default: ab, pattern: "^[a-z]+$" }
          note: { type: string, required: false }
        steps: [{ id: a, uses: log, with: { message: x } }]
        """, "wf.yaml");

    private static List<string> Errors(Func<JsonObject> bind)
    {
        var e = Assert.Throws<WorkflowValidationException>(() => bind())!;
        return e.Errors.Select(x => x.ToString()).ToList();
    }

    [Test]
    public void Bind_ConvertsStringsByDeclaredType_AndAppliesDefaults()
    {
        var bound = ParameterBinder.Bind(Definition, new Dictionary<string, string>
        {
            ["n"] = "7", ["min_auc"] = "0.8", ["dry_run"] = "true", ["tags"] = "[\"a\",1]", ["cfg"] = "{\"depth\":2}",
        });
        Assert.That(bound.ToJsonString(), Is.EqualTo(
            """{"greeting":"hi","n":7,"min_auc":0.8,"dry_run":true,"tags":["a",1],"cfg":{"depth":2},"code":"ab","note":null}"""));
    }

    [Test]
    public void Bind_ReportsEveryBadValue_NamingTheParameter()
    {
        var errors = Errors(() => ParameterBinder.Bind(Definition, new Dictionary<string, string>
        {
            ["greeting"] = "hey", ["n"] = "three", ["dry_run"] = "yes", ["tags"] = "{}", ["cfg"] = "{oops", ["code"] = "A1", ["colour"] = "red",
        }));
        Assert.That(errors, Is.EqualTo(new[]
        {
            "--param: params.n: expected an integer, got 'three'",
            "--param: params.dry_run: expected true or false, got 'yes'",
            "--param: params.tags: expected a JSON array, got object '{}'",
            errors[3], // JSON parser message, checked below
            "--param: params.colour: unknown parameter 'colour'; declared: greeting, n, min_auc, dry_run, tags, cfg, code, note",
            "--param: params.greeting: must be one of \"hi\", \"hello\"; got \"hey\"",
            "--param: params.min_auc: missing required parameter 'min_auc' (number)",
            "--param: params.code: must match pattern '^[a-z]+$'; got \"A1\"",
        }));
        Assert.That(errors[3], Does.StartWith("--param: params.cfg: expected a JSON object, got '{oops' ("));
    }

    [TestCase("0", "--param: params.n: must be at least 1; got 0")]
    [TestCase("11", "--param: params.n: must be at most 10; got 11")]
    [TestCase("2.5", "--param: params.n: expected an integer, got '2.5'")]
    public void Bind_ChecksNumericRange(string n, string expected)
    {
        var errors = Errors(() => ParameterBinder.Bind(Definition, new Dictionary<string, string> { ["n"] = n, ["min_auc"] = "1" }));
        Assert.That(errors, Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void Bind_ReportsNonNumber_ForNumberParameter()
    {
        var errors = Errors(() => ParameterBinder.Bind(Definition, new Dictionary<string, string> { ["min_auc"] = "high" }));
        Assert.That(errors, Is.EqualTo(new[] { "--param: params.min_auc: expected a number, got 'high'" }));
    }

    [Test]
    public void Bind_AcceptsTypedJson_AndNormalisesWholeNumbersForIntegers()
    {
        var bound = ParameterBinder.Bind(Definition, new JsonObject { ["n"] = 4.0, ["min_auc"] = 1, ["greeting"] = "hello" });
        Assert.That(bound["n"]!.GetValue<long>(), Is.EqualTo(4));
        Assert.That(bound["min_auc"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(bound["greeting"]!.GetValue<string>(), Is.EqualTo("hello"));
    }

    [Test]
    public void Bind_ReportsWrongJsonTypes_AndUnknownNames()
    {
        var errors = Errors(() => ParameterBinder.Bind(Definition, new JsonObject { ["n"] = "3", ["min_auc"] = true, ["x"] = 1 }));
        Assert.That(errors, Is.EqualTo(new[]
        {
            "parameters: params.n: expected integer, got string \"3\"",
            "parameters: params.min_auc: expected number, got boolean true",
            "parameters: params.x: unknown parameter 'x'; declared: greeting, n, min_auc, dry_run, tags, cfg, code, note",
        }));
    }

    [Test]
    public void Bind_ReturnsDefaultsAsCopies_SoCallersCannotChangeTheDefinition()
    {
        var bound = ParameterBinder.Bind(Definition, new JsonObject { ["min_auc"] = 0.5 });
        ((JsonObject)bound["cfg"]!)["depth"] = 99;
        Assert.That(Definition.Parameters.Single(p => p.Name == "cfg").Default!["depth"]!.GetValue<long>(), Is.EqualTo(6));
    }
}
