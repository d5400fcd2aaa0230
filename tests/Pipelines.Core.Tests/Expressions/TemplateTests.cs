using System.Text.Json.Nodes;
using Pipelines.Core.Expressions;

namespace Pipelines.Core.Tests.Expressions;

public class TemplateTests
{
    private static readonly ExpressionContext Context = new()
    {
        Params = new JsonObject { ["n"] = 3, ["name"] = "ada" },
        StepOutputs = new Dictionary<string, JsonObject> { ["r"] = new() { ["items"] = new JsonArray(1, 2) } },
    };

    [Test]
    public void Resolve_KeepsType_WhenStringIsOneExpression()
    {
        var resolved = Templates.Resolve(JsonNode.Parse("""{"count": "${{ params.n }}", "items": "${{ steps.r.outputs.items }}"}"""), Context);
        Assert.That(resolved!.ToJsonString(), Is.EqualTo("""{"count":3,"items":[1,2]}"""));
    }

    [Test]
    public void Resolve_Interpolates_WhenTextSurroundsExpressions()
    {
        var resolved = Templates.Resolve(JsonValue.Create("hi ${{ params.name }}, n=${{ params.n }} ${{ steps.r.outputs.items }}${{ null }}!"), Context);
        Assert.That(resolved!.GetValue<string>(), Is.EqualTo("hi ada, n=3 [1,2]!"));
    }

    [Test]
    public void Resolve_TreatsSurroundingSpaceAsText()
    {
        var resolved = Templates.Resolve(JsonValue.Create(" ${{ params.n }}"), Context);
        Assert.That(resolved!.GetValue<string>(), Is.EqualTo(" 3"));
    }

    [Test]
    public void Resolve_WalksNestedObjectsAndArrays_AndLeavesPlainValues()
    {
        var template = JsonNode.Parse("""{"a": [1, "x", "${{ params.n * 2 }}"], "b": {"c": "${{ params.name }}", "d": true, "e": null}}""");
        var resolved = Templates.Resolve(template, Context);
        Assert.That(resolved!.ToJsonString(), Is.EqualTo("""{"a":[1,"x",6],"b":{"c":"ada","d":true,"e":null}}"""));
        Assert.That(template!["a"]![2]!.GetValue<string>(), Is.EqualTo("${{ params.n * 2 }}"), "the template is not modified");
    }

    [Test]
    public void Resolve_AllowsClosingBracesInsideStringLiterals()
    {
        var resolved = Templates.Resolve(JsonValue.Create("${{ format('{0}}}', params.n) }}"), Context);
        Assert.That(resolved!.GetValue<string>(), Is.EqualTo("3}"));
    }

    [Test]
    public void Resolve_Throws_WhenExpressionIsNotClosed()
    {
        var e = Assert.Throws<ExpressionException>(() => Templates.Resolve(JsonValue.Create("a ${{ params.n"), Context))!;
        Assert.That(e.Message, Is.EqualTo("'${{' without a closing '}}' at position 3 in 'a ${{ params.n'"));
    }

    [Test]
    public void FindExpressions_ReportsPathOfEachExpression()
    {
        var template = JsonNode.Parse("""{"m": "${{ params.a }} and ${{ params.b }}", "l": ["x", {"k": "${{ steps.s.outputs.o }}"}]}""");
        var found = Templates.FindExpressions(template, "with").Select(f => $"{f.Path}={f.Expression.Text}").ToList();
        Assert.That(found, Is.EqualTo(new[] { "with.m=params.a", "with.m=params.b", "with.l[1].k=steps.s.outputs.o" }));
    }

    [TestCase("false", false)]
    [TestCase("null", false)]
    [TestCase("0", false)]
    [TestCase("0.0", false)]
    [TestCase("\"\"", false)]
    [TestCase("[]", false)]
    [TestCase("true", true)]
    [TestCase("1", true)]
    [TestCase("\"false\"", true)]
    [TestCase("[0]", true)]
    [TestCase("{}", true)]
    public void IsTruthy_FollowsDocumentedRules(string json, bool expected) =>
        Assert.That(Templates.IsTruthy(JsonNode.Parse(json)), Is.EqualTo(expected));

    [TestCase("${{ params.n > 2 }}", true)]
    [TestCase("params.n > 5", false)]
    [TestCase("${{ params.name }}", true)]
    public void EvaluateCondition_AcceptsWrappedAndBareExpressions(string condition, bool expected) =>
        Assert.That(Templates.EvaluateCondition(condition, Context), Is.EqualTo(expected));
}
