using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Deploy.Tests.Support;

namespace Pipelines.Deploy.Tests.Pipeline;

/// <summary>
/// Lints azure-pipelines.yml offline: Azure DevOps' own schema check happens only on the service, so this checks the
/// structure it relies on — known top-level keys, stage order and dependencies, tasks pinned to a major version,
/// every macro variable defined, every file the pipeline runs present — and the deployment rules: tests against a
/// PostgreSQL service container, the image from infra/Dockerfile, Bicep build and what-if, dev before prod, prod
/// behind its environment.
/// </summary>
public partial class AzurePipelineTests
{
    private JsonObject _pipeline = null!;
    private string _text = null!;

    [OneTimeSetUp]
    public void Load()
    {
        var file = Repo.Path("azure-pipelines.yml");
        _text = File.ReadAllText(file);
        _pipeline = YamlJson.Load(_text, file);
    }

    private IEnumerable<JsonObject> Stages() => _pipeline["stages"]!.AsArray().OfType<JsonObject>();
    private JsonObject Stage(string name) => Stages().Single(s => (string?)s["stage"] == name);
    private static IEnumerable<JsonObject> Jobs(JsonObject stage) => stage["jobs"]!.AsArray().OfType<JsonObject>();

    private static IEnumerable<JsonObject> Steps(JsonObject job) =>
        (job["steps"] ?? job["strategy"]?["runOnce"]?["deploy"]?["steps"])?.AsArray().OfType<JsonObject>()
        ?? throw new AssertionException($"job {job["job"] ?? job["deployment"]} has no steps");

    [Test]
    public void TopLevel_UsesOnlyKeysAzurePipelinesKnows()
    {
        var known = new[] { "name", "trigger", "pr", "schedules", "parameters", "variables", "resources", "stages", "pool", "lockBehavior", "extends", "appendCommitMessageToRunName" };
        Assert.That(_pipeline.Select(kv => kv.Key), Is.SubsetOf(known));
        foreach (var stage in Stages())
        {
            Assert.That(stage.Select(kv => kv.Key), Is.SubsetOf(new[] { "stage", "displayName", "dependsOn", "condition", "variables", "jobs", "pool", "lockBehavior", "templateContext" }), (string?)stage["stage"]);
            foreach (var job in Jobs(stage))
            {
                Assert.That(job.Select(kv => kv.Key), Is.SubsetOf(new[] { "job", "deployment", "displayName", "dependsOn", "condition", "pool", "services", "variables", "steps", "strategy", "environment", "timeoutInMinutes", "container", "workspace", "continueOnError" }));
                Assert.That((string?)job["pool"]?["vmImage"], Is.Not.Null.And.Not.Empty, $"{job["job"] ?? job["deployment"]}: a hosted pool");
            }
        }
    }

    [Test]
    public void Stages_RunBuildImageInfrastructureDevProd_EachAfterThePrevious()
    {
        var names = Stages().Select(s => (string?)s["stage"]).ToList();
        Assert.That(names, Is.EqualTo(new[] { "Build", "Image", "Infrastructure", "DeployDev", "DeployProd" }));
        for (var i = 1; i < names.Count; i++)
            Assert.That((string?)Stage(names[i]!)["dependsOn"], Is.EqualTo(names[i - 1]), names[i]);
        Assert.That((string?)Stage("Image")["condition"], Does.Contain("isMain"), "only main is released");
    }

    [Test]
    public void Tests_RunAgainstAPostgresServiceContainer()
    {
        var job = Jobs(Stage("Build")).Single();
        var service = (string)job["services"]!["postgres"]!;
        var container = _pipeline["resources"]!["containers"]!.AsArray().Single(c => (string?)c!["container"] == service)!;
        Assert.That((string?)container["image"], Does.StartWith("postgres:"));
        var testDb = new Npgsql.NpgsqlConnectionStringBuilder((string)job["variables"]!["PIPELINES_TEST_DB"]!);
        Assert.That(testDb.Username, Is.EqualTo((string?)container["env"]!["POSTGRES_USER"]));
        Assert.That(testDb.Password, Is.EqualTo((string?)container["env"]!["POSTGRES_PASSWORD"]));
        Assert.That(container["ports"]!.AsArray().Select(p => (string?)p), Does.Contain($"{testDb.Port}:5432"));
        Assert.That(Steps(job).Select(s => (string?)s["script"] ?? ""), Has.Some.Contains("infra/test.sh"));
    }

    [Test]
    public void TheImage_IsBuiltFromTheDockerfile_AndPushed()
    {
        var docker = Steps(Jobs(Stage("Image")).Single()).Single(s => (string?)s["task"] == "Docker@2")["inputs"]!;
        Assert.That((string?)docker["command"], Is.EqualTo("buildAndPush"));
        Assert.That(File.Exists(Repo.Path((string)docker["Dockerfile"]!)), Is.True);
        Assert.That((string?)docker["tags"], Does.Contain("$(imageTag)"));
    }

    [Test]
    public void Infrastructure_CompilesTheBicep_AndPreviewsEachEnvironment()
    {
        var scripts = Jobs(Stage("Infrastructure")).SelectMany(Steps).Select(s => (string?)s["inputs"]?["inlineScript"] ?? "").ToList();
        foreach (var env in new[] { "dev", "prod" })
        {
            var script = scripts.Single(s => s.Contains($"{env}.bicepparam"));
            Assert.That(script, Does.Contain("az bicep build --file infra/azure/main.bicep"));
            Assert.That(script, Does.Contain($"az deployment group what-if -g pipelines-{env}"));
        }
    }

    [Test]
    public void Deployments_GoToDevThenToProd_ThroughTheirEnvironments()
    {
        var dev = Jobs(Stage("DeployDev")).Single();
        var prod = Jobs(Stage("DeployProd")).Single();
        Assert.That((string?)dev["environment"], Is.EqualTo("pipelines-dev"));
        Assert.That((string?)prod["environment"], Is.EqualTo("pipelines-prod"), "the environment whose approval check gates prod");
        Assert.That(dev["deployment"], Is.Not.Null, "a deployment job: only those wait for environment checks");
        Assert.That(prod["deployment"], Is.Not.Null);
        foreach (var (job, env) in new[] { (dev, "dev"), (prod, "prod") })
        {
            var cli = Steps(job).Single(s => (string?)s["task"] == "AzureCLI@2")["inputs"]!;
            Assert.That((string?)cli["arguments"], Does.StartWith($"{env} pipelines-{env} "));
            Assert.That((string?)cli["scriptPath"], Is.EqualTo("infra/azure/deploy.sh"));
        }
    }

    [Test]
    public void Tasks_ArePinnedToAMajorVersion_AndFilesTheyRunExist()
    {
        var known = new[] { "UseDotNet@2", "PublishTestResults@2", "Docker@2", "AzureCLI@2" };
        var steps = Stages().SelectMany(Jobs).SelectMany(Steps).ToList();
        foreach (var step in steps)
        {
            if ((string?)step["task"] is { } task) Assert.That(known, Does.Contain(task));
            if ((string?)step["inputs"]?["scriptPath"] is { } path) Assert.That(File.Exists(Repo.Path(path)), Is.True, path);
        }
        foreach (Match m in ScriptFile().Matches(_text))
            Assert.That(File.Exists(Repo.Path(m.Value)), Is.True, m.Value);
    }

    [Test]
    public void EveryMacroVariable_IsDefined_OrComesFromTheDocumentedVariableGroups()
    {
        var defined = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Collect(JsonNode? variables)
        {
            if (variables is JsonObject map) foreach (var (k, _) in map) defined.Add(k);
            if (variables is JsonArray list)
                foreach (var v in list.OfType<JsonObject>())
                    if ((string?)v["name"] is { } n) defined.Add(n);
        }
        Collect(_pipeline["variables"]);
        foreach (var stage in Stages())
        {
            Collect(stage["variables"]);
            foreach (var job in Jobs(stage)) Collect(job["variables"]);
        }
        // Secret variables of the variable groups pipelines-dev / pipelines-prod, listed in the file's header.
        var fromGroups = new[] { "postgresAdminPassword" };
        foreach (var name in fromGroups) Assert.That(_text, Does.Contain($"secret variable {name}"));
        foreach (Match m in Macro().Matches(_text))
        {
            var name = m.Groups[1].Value;
            if (name.StartsWith("Build.", StringComparison.Ordinal) || name.StartsWith("System.", StringComparison.Ordinal) || name.StartsWith("Agent.", StringComparison.Ordinal)) continue;
            Assert.That(defined.Contains(name) || fromGroups.Contains(name), Is.True, $"$({name}) is not defined");
        }
    }

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)")]
    private static partial Regex Macro();

    [GeneratedRegex(@"infra/[A-Za-z0-9_./-]+\.(sh|bicepparam|bicep)\b")]
    private static partial Regex ScriptFile();
}
