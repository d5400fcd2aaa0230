using System.Text.Json.Nodes;
using Pipelines.Core.Expressions;

namespace Pipelines.Core.Tests.Expressions;

public class ExpressionTests
{
    private static readonly ExpressionContext Context = new()
    {
        Params = new JsonObject { ["n"] = 3, ["name"] = "ada", ["auc"] = 0.75, ["flag"] = true, ["tags"] = new JsonArray("a", "b"), ["cfg"] = new JsonObject { ["depth"] = 6 } },
        StepOutputs = new Dictionary<string, JsonObject>
        {
            ["split"] = new() { ["items"] = new JsonArray(10, 20, 30), ["path"] = "s3://x" },
            ["train-model"] = new() { ["auc"] = 0.9 },
        },
        Run = new JsonObject { ["id"] = "r1" },
    };

    private static JsonNode? Eval(string text, ExpressionContext? context = null) => Expression.Parse(text).Evaluate(context ?? Context);

    private static string Json(string text, ExpressionContext? context = null) => Eval(text, context)?.ToJsonString() ?? "null";

    [TestCase("1 + 2 * 3", "7")]
    [TestCase("(1 + 2) * 3", "9")]
    [TestCase("10 - 4 - 3", "3")]
    [TestCase("7 % 4", "3")]
    [TestCase("6 / 3", "2")]
    [TestCase("7 / 2", "3.5")]
    [TestCase("-2 * 3", "-6")]
    [TestCase("1.5 + 1", "2.5")]
    [TestCase("1 < 2 == true", "true")]
    [TestCase("!false && 1 > 2 || true", "true")]
    [TestCase("true || false && false", "true")]
    [TestCase("!(1 == 1)", "false")]
    [TestCase("1 == 1.0", "true")]
    [TestCase("'a' < 'b'", "true")]
    [TestCase("'a' + 'b'", "\"ab\"")]
    [TestCase("'n=' + 3", "\"n=3\"")]
    [TestCase("null == null", "true")]
    [TestCase("1 != 2", "true")]
    public void Evaluate_FollowsPrecedenceAndTypes(string text, string expected) =>
        Assert.That(Json(text), Is.EqualTo(expected));

    [TestCase("params.n + 1", "4")]
    [TestCase("params.name", "\"ada\"")]
    [TestCase("params['name']", "\"ada\"")]
    [TestCase("params.tags[1]", "\"b\"")]
    [TestCase("params.cfg.depth", "6")]
    [TestCase("params.cfg.missing", "null")]
    [TestCase("steps.split.outputs.items[2]", "30")]
    [TestCase("steps['split'].outputs['path']", "\"s3://x\"")]
    [TestCase("steps.train-model.outputs.auc > params.auc", "true")]
    [TestCase("run.id", "\"r1\"")]
    public void Evaluate_ReadsParamsStepOutputsAndRun(string text, string expected) =>
        Assert.That(Json(text), Is.EqualTo(expected));

    [Test]
    public void Evaluate_ReadsItemAndIndex_InsideForEach()
    {
        var context = new ExpressionContext { Item = new JsonObject { ["x"] = 5 }, Index = 2 };
        Assert.That(Json("item.x * 10 + index", context), Is.EqualTo("52"));
        Assert.That(Json("index - 1", context), Is.EqualTo("1"));
    }

    [TestCase("length('abc')", "3")]
    [TestCase("length(params.tags)", "2")]
    [TestCase("length(params.cfg)", "1")]
    [TestCase("contains('hello', 'ell')", "true")]
    [TestCase("contains(params.tags, 'c')", "false")]
    [TestCase("contains(steps.split.outputs.items, 20)", "true")]
    [TestCase("startsWith(steps.split.outputs.path, 's3:')", "true")]
    [TestCase("endsWith('model.json', '.csv')", "false")]
    [TestCase("format('{0}-{1}-{0} {{x}}', params.name, 7)", "\"ada-7-ada {x}\"")]
    [TestCase("join(params.tags, '+')", "\"a\\u002Bb\"")]
    [TestCase("join(steps.split.outputs.items)", "\"10,20,30\"")]
    [TestCase("toJson(params.tags)", "\"[\\u0022a\\u0022,\\u0022b\\u0022]\"")]
    [TestCase("fromJson('{\"a\": [1, 2]}').a[1]", "2")]
    public void Evaluate_CallsFunctions(string text, string expected) =>
        Assert.That(Json(text), Is.EqualTo(expected));

    [TestCase("params.nope", "unknown parameter 'nope' at position 7 in 'params.nope'")]
    [TestCase("steps.split.outputs.nope", "step 'split' has no output 'nope' at position 20 in 'steps.split.outputs.nope'")]
    [TestCase("steps.gone.outputs.x", "step 'gone' has no outputs (it has not finished or does not exist) at position 11 in 'steps.gone.outputs.x'")]
    [TestCase("'a' < 1", "cannot compare string with integer using '<' at position 5 in ''a' < 1'")]
    [TestCase("1 - 'a'", "cannot apply '-' to integer and string at position 3 in '1 - 'a''")]
    [TestCase("1 / 0", "division by zero at position 3 in '1 / 0'")]
    [TestCase("params.tags[5]", "index 5 is out of range for an array of length 2 at position 12 in 'params.tags[5]'")]
    [TestCase("params.n.x", "cannot read 'x' of integer at position 9 in 'params.n.x'")]
    [TestCase("item", "'item' is only available in a step with for_each at position 1 in 'item'")]
    [TestCase("length(1)", "length() expects a string, array or object, got integer at position 1 in 'length(1)'")]
    public void Evaluate_ThrowsWithPosition_WhenInvalid(string text, string message)
    {
        var e = Assert.Throws<ExpressionException>(() => Eval(text))!;
        Assert.That(e.Message, Is.EqualTo(message));
    }

    [Test]
    public void Evaluate_UnescapesStringLiterals()
    {
        Assert.That(Eval("'it''s'")!.GetValue<string>(), Is.EqualTo("it's"));
        Assert.That(Eval("\"say \\\"hi\\\"\\n\"")!.GetValue<string>(), Is.EqualTo("say \"hi\"\n"));
    }

    [Test]
    public void Evaluate_Throws_WhenFromJsonGetsInvalidJson()
    {
        var e = Assert.Throws<ExpressionException>(() => Eval("fromJson('{')"))!;
        Assert.That(e.Message, Does.StartWith("fromJson() got invalid JSON: "));
        Assert.That(e.Position, Is.EqualTo(0));
    }

    [TestCase("1 +", "unexpected end of expression at position 4 in '1 +'")]
    [TestCase("(1 + 2", "expected ')' but the expression ended at position 7 in '(1 + 2'")]
    [TestCase("foo.bar", "unknown name 'foo'; expressions start with params, steps, item, index, run, event at position 1 in 'foo.bar'")]
    [TestCase("nope(1)", "unknown function 'nope'; functions: length, contains, startsWith, endsWith, format, join, toJson, fromJson at position 1 in 'nope(1)'")]
    [TestCase("contains('a')", "function 'contains' takes 2 argument(s), got 1 at position 1 in 'contains('a')'")]
    [TestCase("'abc", "unterminated string at position 1 in ''abc'")]
    [TestCase("1 # 2", "unexpected character '#' at position 3 in '1 # 2'")]
    [TestCase("params.", "expected a name after '.' at position 8 in 'params.'")]
    [TestCase("1 2", "unexpected '2' at position 3 in '1 2'")]
    [TestCase("", "empty expression at position 1 in ''")]
    public void Parse_ThrowsWithPosition_WhenMalformed(string text, string message)
    {
        var e = Assert.Throws<ExpressionException>(() => Expression.Parse(text))!;
        Assert.That(e.Message, Is.EqualTo(message));
    }

    [Test]
    public void Parse_CollectsReferencedStepsAndParams_InOrder()
    {
        var e = Expression.Parse("steps.b.outputs.x + params.p + steps['a'].outputs.y + steps.b.outputs.z + params.q.r");
        Assert.That(e.ReferencedSteps, Is.EqualTo(new[] { "b", "a" }));
        Assert.That(e.ReferencedParams, Is.EqualTo(new[] { "p", "q" }));
    }

    [Test]
    public void Parse_UnwrapsDollarBraces_WhenWholeTextIsOneExpression()
    {
        var e = Expression.Parse("${{ params.n > 2 }}");
        Assert.That(e.Text, Is.EqualTo("params.n > 2"));
        Assert.That(e.Evaluate(Context)?.ToJsonString(), Is.EqualTo("true"));
    }

    [Test]
    public void Evaluate_ReturnsDetachedValue_SoItCanBeStoredElsewhere()
    {
        var value = Eval("steps.split.outputs.items");
        Assert.That(value!.Parent, Is.Null);
        Assert.DoesNotThrow(() => _ = new JsonObject { ["copy"] = value });
    }
}
