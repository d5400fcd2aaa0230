using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Deploy.Tests.Kubernetes;
using Pipelines.Deploy.Tests.Support;

namespace Pipelines.Deploy.Tests.Azure;

/// <summary>
/// Compiles infra/azure with the Bicep compiler from the Azure.Bicep.CommandLine package (which type-checks every
/// resource against Azure's API definitions), requires no warnings, and checks the security and scaling rules in
/// the ARM template it produces.
/// </summary>
public partial class BicepTests
{
    private static JsonObject _main = null!;

    private static string Bicep()
    {
        var path = typeof(BicepTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!;
        Assert.That(File.Exists(path), Is.True, $"the Bicep compiler is missing at {path}");
        return path;
    }

    private static async Task<string> BuildAsync(string verb, string file)
    {
        var result = await Tool.RunAsync(Bicep(), [verb, Repo.Path("infra", "azure", file), "--stdout"],
            environment: new Dictionary<string, string> { ["BICEP_TRACING_ENABLED"] = "false" });
        Assert.That(result.ExitCode, Is.EqualTo(0), $"bicep {verb} {file}:\n{result.Stderr}");
        Assert.That(result.Stderr, Does.Not.Contain("Warning").And.Not.Contain("Error"), $"bicep {verb} {file} diagnostics");
        return result.Stdout;
    }

    [OneTimeSetUp]
    public async Task Compile() => _main = JsonNode.Parse(await BuildAsync("build", "main.bicep"))!.AsObject();

    private static IEnumerable<JsonObject> Resources(string type) =>
        _main["resources"]!.AsArray().OfType<JsonObject>().Where(r => (string?)r["type"] == type);

    private static JsonObject Single(string type, string namePart) =>
        Resources(type).Single(r => ((string?)r["name"] ?? "").Contains(namePart, StringComparison.Ordinal));

    [TestCase("registry.bicep")]
    public async Task OtherTemplates_Compile_WithoutWarnings(string file) => Assert.That(JsonNode.Parse(await BuildAsync("build", file)), Is.Not.Null);

    [TestCase("dev.bicepparam")]
    [TestCase("prod.bicepparam")]
    public async Task ParameterFiles_Compile_AgainstMain(string file)
    {
        var output = JsonNode.Parse(await BuildAsync("build-params", file))!;
        var parameters = JsonNode.Parse((string)output["parametersJson"]!)!["parameters"]!.AsObject();
        Assert.That((string?)parameters["environmentName"]!["value"], Is.EqualTo(file.Split('.')[0]));
        Assert.That((long?)parameters["workerMinReplicas"]!["value"], Is.GreaterThanOrEqualTo(1), "a leader candidate must always run");
    }

    [Test]
    public async Task TheCompiler_RejectsAnUnknownProperty()
    {
        // Without this the zero-warnings assertion could be passing because diagnostics go elsewhere.
        var dir = Directory.CreateTempSubdirectory("bicep-");
        try
        {
            var file = Path.Combine(dir.FullName, "bad.bicep");
            File.WriteAllText(file, "resource s 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  location: 'westeurope'\n  kind: 'StorageV2'\n  sku: { name: 'Standard_LRS' }\n  properties: { allowSharedKeyAcess: false }\n}\n");
            var result = await Tool.RunAsync(Bicep(), ["build", file, "--stdout"]);
            Assert.That(result.Stderr, Does.Contain("\"allowSharedKeyAcess\" is not allowed"));
        }
        finally { dir.Delete(true); }
    }

    [Test]
    public void Storage_HasNoSharedKeys_NoPublicBlobs_AndAPrivateArtifactsContainer()
    {
        foreach (var account in Resources("Microsoft.Storage/storageAccounts"))
        {
            Assert.That((bool?)account["properties"]!["allowSharedKeyAccess"], Is.False, (string?)account["name"]);
            Assert.That((bool?)account["properties"]!["allowBlobPublicAccess"], Is.False, (string?)account["name"]);
            Assert.That((string?)account["properties"]!["networkAcls"]!["defaultAction"], Is.EqualTo("Deny"), (string?)account["name"]);
        }
        var container = Resources("Microsoft.Storage/storageAccounts/blobServices/containers").Single();
        Assert.That((string?)container["properties"]!["publicAccess"], Is.EqualTo("None"));
    }

    [Test]
    public void TheIdentity_WritesArtifacts_AndReadsSecrets_ThroughRoleAssignments()
    {
        // Assignments name their role through variables('roles').X; resolve it to the role definition id.
        string Role(JsonObject r)
        {
            var expression = (string)r["properties"]!["roleDefinitionId"]!;
            var key = Regex.Match(expression, @"variables\('roles'\)\.(\w+)").Groups[1].Value;
            return key.Length > 0 ? (string)_main["variables"]!["roles"]![key]! : expression;
        }
        var roles = Resources("Microsoft.Authorization/roleAssignments").Select(Role).ToList();
        Assert.That(roles, Has.Some.Contains("ba92f5b4-2d11-453d-a403-e96b0029c9fe"), "Storage Blob Data Contributor");
        Assert.That(roles, Has.Some.Contains("4633458b-17de-408a-b874-0445c86b69e6"), "Key Vault Secrets User");
        var writer = Resources("Microsoft.Authorization/roleAssignments").Single(r => Role(r).Contains("ba92f5b4"));
        Assert.That((string?)writer["scope"], Does.Contain("blobServices/containers"), "scoped to the artifacts container, not the account");
        var vault = Resources("Microsoft.KeyVault/vaults").Single();
        Assert.That((bool?)vault["properties"]!["enableRbacAuthorization"], Is.True);
        var pg = Resources("Microsoft.DBforPostgreSQL/flexibleServers").Single();
        Assert.That((string?)pg["properties"]!["network"]!["publicNetworkAccess"], Is.EqualTo("Disabled"));
    }

    [Test]
    public void Apps_ReadSecretsFromKeyVault_AndUseAPlainBlobUrl()
    {
        foreach (var app in Resources("Microsoft.App/containerApps"))
        {
            // An array, or (the workers': shared list plus the optional tracking-key secret) an ARM concat expression.
            var node = app["properties"]!["configuration"]!["secrets"]!;
            var secrets = node.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string)node! : node.ToJsonString();
            Assert.That(secrets, Does.Contain("keyVaultUrl"));
            Assert.That(secrets, Does.Not.Contain("\"value\"").And.Not.Contain("'value'"), "no secret values inline");
            var env = app["properties"]!["template"]!["containers"]![0]!["env"]!.ToJsonString();
            Assert.That(env, Does.Contain("PIPELINES_ARTIFACTS").And.Contain("AZURE_CLIENT_ID"));
            Assert.That(env, Does.Not.Contain("AccountKey").And.Not.Contain("sig="));
        }
    }

    [Test]
    public async Task Workers_ScaleWithKeda_OnTheSameQueryAsKubernetes_AndOutliveTheirShutdownGrace()
    {
        var worker = Single("Microsoft.App/containerApps", "-worker'");
        var rule = worker["properties"]!["template"]!["scale"]!["rules"]![0]!["custom"]!;
        Assert.That((string?)rule["type"], Is.EqualTo("postgresql"));
        Assert.That((string?)rule["auth"]![0]!["triggerParameter"], Is.EqualTo("connection"));
        var prod = await RenderedOverlay.RenderAsync("prod");
        var k8sQuery = (string)prod.Get("ScaledObject", "pipelines-worker")["spec"]!["triggers"]![0]!["metadata"]!["query"]!;
        Assert.That(Normalize((string)rule["metadata"]!["query"]!), Is.EqualTo(Normalize(k8sQuery)), "one scaling rule, two platforms");
        var termination = (string?)worker["properties"]!["template"]!["terminationGracePeriodSeconds"];
        Assert.That(termination, Does.Contain("workerShutdownGraceSeconds").And.Contain("20"), "grace + 20 s");
        Assert.That((long?)_main["parameters"]!["workerMinReplicas"]!["minValue"], Is.EqualTo(1));
    }

    [Test]
    public void Migrations_RunAsAManualJob_WithTheSameImage()
    {
        var job = Resources("Microsoft.App/jobs").Single();
        Assert.That((string?)job["properties"]!["configuration"]!["triggerType"], Is.EqualTo("Manual"));
        var container = job["properties"]!["template"]!["containers"]![0]!;
        Assert.That(container["args"]!.AsArray().Select(a => (string?)a), Is.EqualTo(new[] { "migrate" }));
        Assert.That((string?)container["image"], Is.EqualTo("[parameters('image')]"));
    }

    [Test]
    public void Telemetry_GoesToApplicationInsights_ThroughTheEnvironmentsOpenTelemetryAgent()
    {
        var environment = Resources("Microsoft.App/managedEnvironments").Single()["properties"]!;
        Assert.That(environment["appInsightsConfiguration"], Is.Not.Null);
        Assert.That(environment["openTelemetryConfiguration"]!["tracesConfiguration"]!["destinations"]!.AsArray().Select(d => (string?)d), Does.Contain("appInsights"));
        Assert.That(Resources("Microsoft.Insights/components").Single()["properties"]!["WorkspaceResourceId"], Is.Not.Null);
    }

    private static string Normalize(string sql) => WhiteSpace().Replace(sql, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
