using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;

namespace Pipelines.Core.Tests.Definitions;

/// <summary>The workflow files shipped in the repository must stay valid, and the JSON Schema must describe the same keys the parser accepts.</summary>
public class WorkflowFilesTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Pipelines.sln) not found");
    }

    public static IEnumerable<string> WorkflowFiles() =>
        Directory.EnumerateFiles(Path.Combine(RepoRoot(), "workflows"), "*.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepoRoot(), f)).Order(StringComparer.Ordinal);

    [Test]
    public void Repository_HasTheExampleWorkflows() =>
        Assert.That(WorkflowFiles(), Is.SupersetOf(new[] { Path.Combine("workflows", "examples", "approval.yaml"), Path.Combine("workflows", "examples", "hello.yaml") }));

    [TestCaseSource(nameof(WorkflowFiles))]
    public void WorkflowFile_ParsesAndValidates(string relativePath)
    {
        var definition = WorkflowValidator.Load(Path.Combine(RepoRoot(), relativePath), TestYaml.Registry);
        Assert.That(definition.Steps, Is.Not.Empty);
    }

    [Test]
    public void HelloExample_UsesForEachScheduleAndSleep()
    {
        var def = WorkflowParser.ParseFile(Path.Combine(RepoRoot(), "workflows", "examples", "hello.yaml"));
        Assert.That(def.Steps.Select(s => s.Uses), Is.EqualTo(new[] { "range", "log", "sleep", "log" }));
        Assert.That(def.Steps[1].ForEach, Is.Not.Null);
        Assert.That(def.Schedule!.TimeZone, Is.EqualTo("Europe/Amsterdam"));
    }

    [Test]
    public void Schema_ListsExactlyTheKeysTheParserAccepts()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "workflows", "workflow.schema.json")))!;
        static IEnumerable<string> Keys(JsonNode? node) => ((JsonObject)node!["properties"]!).Select(p => p.Key);
        var defs = schema["$defs"]!;
        Assert.Multiple(() =>
        {
            Assert.That(schema["$schema"]!.GetValue<string>(), Is.EqualTo("https://json-schema.org/draft/2020-12/schema"));
            Assert.That(Keys(schema), Is.EqualTo(WorkflowParser.Keys));
            Assert.That(Keys(defs["step"]), Is.EqualTo(StepReader.Keys));
            Assert.That(Keys(defs["parameter"]), Is.EquivalentTo(ParameterReader.Keys));
            Assert.That(Keys(defs["schedule"]), Is.EqualTo(ScheduleReader.Keys));
            Assert.That(Keys(defs["trigger"]), Is.EqualTo(TriggerReader.Keys));
            Assert.That(Keys(defs["step"]!["properties"]!["retry"]!["oneOf"]![1]), Is.EqualTo(StepReader.RetryKeys));
            Assert.That(Keys(defs["step"]!["properties"]!["retry"]!["oneOf"]![1]!["properties"]!["backoff"]), Is.EqualTo(StepReader.BackoffKeys));
            Assert.That(Keys(defs["step"]!["properties"]!["for_each"]!["oneOf"]![1]), Is.EqualTo(StepReader.ForEachKeys));
        });
    }
}
