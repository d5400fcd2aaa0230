using System.Text.Json.Nodes;
using Pipelines.Cli.Rendering;
using Spectre.Console;

namespace Pipelines.Cli.Tests.Commands;

/// <summary>The approval summary comes from the workflow, so any shape must render rather than end the progress view.</summary>
public class ApprovalSummaryViewTests
{
    private static string Render(string json)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        console.Write(ApprovalSummaryView.Build(JsonNode.Parse(json)));
        return writer.ToString();
    }

    [TestCase("""{"metrics": {"auc": 0.9}, "primary_metric": 7, "maximize": "yes", "champion": {"version": 2, "metrics": {"auc": 0.8}}}""", "+0.1000")]
    // Two champion slices for sex=F: the first counts.
    [TestCase("""{"metrics": {"auc": 0.9}, "primary_metric": "auc", "slices": [{"column": "sex", "value": "F", "metrics": {"auc": 0.5}}], "champion": {"version": 2, "metrics": {"auc": 0.8}, "slices": [{"column": "sex", "value": "F", "metrics": {"auc": 0.7}}, {"column": "sex", "value": "F", "metrics": {"auc": 0.6}}]}}""", "sex=F 0.5000 vs 0.7000")]
    [TestCase("""{"metrics": {"auc": "high"}, "slices": 3, "champion": {"metrics": [1]}}""", "auc")]
    [TestCase("""{"model": "churn", "note": ["a", 1]}""", "churn")]
    [TestCase("""[1, 2]""", "[1,2]")]
    public void OddSummaries_Render(string summary, string shown)
    {
        Assert.That(() => Render(summary), Throws.Nothing);
        Assert.That(Render(summary), Does.Contain(shown));
    }
}
