using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Deploy.Tests.Support;

namespace Pipelines.Deploy.Tests.Compose;

/// <summary>
/// infra/compose.yaml: valid for the Compose file schema (checked by Debian's docker-compose, offline), and wired as a
/// single host needs: one image for every Pipelines service, migrations before the server and workers, two workers
/// that outlive their shutdown grace, connection strings naming the right services, data in named volumes.
/// </summary>
public class ComposeFileTests
{
    private static readonly string File = Repo.Path("infra", "compose.yaml");
    private JsonObject _compose = null!;
    private JsonObject _services = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _compose = YamlJson.Load(System.IO.File.ReadAllText(File), File);
        _services = _compose["services"]!.AsObject();
    }

    private JsonObject Service(string name) => (JsonObject?)_services[name] ?? throw new AssertionException($"no service {name}");

    private static string Env(JsonObject service, string name) =>
        (string?)service["environment"]?[name] ?? throw new AssertionException($"{name} not set");

    [Test]
    public async Task TheFile_IsValidCompose()
    {
        var compose = Tool.Require("docker-compose", "apt-get install docker-compose");
        var result = await Tool.RunAsync(compose, ["-f", File, "config", "-q"], workingDirectory: Repo.Path("infra"));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
    }

    /// <summary>
    /// infra/compose.local.yaml (PostgreSQL and Azurite built from packages, for machines without a container
    /// registry; infra/image/compose-check.sh runs the stack with it) merges into a valid file that changes only
    /// where those two images come from.
    /// </summary>
    [Test]
    public async Task TheLocalImagesOverride_MergesIntoAValidFile_ThatReplacesOnlyPostgresAndAzurite()
    {
        var compose = Tool.Require("docker-compose", "apt-get install docker-compose");
        var local = Repo.Path("infra", "compose.local.yaml");
        var result = await Tool.RunAsync(compose, ["-f", File, "-f", local, "config"], workingDirectory: Repo.Path("infra"));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var merged = YamlJson.Load(result.Output[result.Output.IndexOf("services:", StringComparison.Ordinal)..], "merged compose")["services"]!.AsObject();
        var overrides = YamlJson.Load(System.IO.File.ReadAllText(local), local)["services"]!.AsObject();
        Assert.That(overrides.Select(kv => kv.Key), Is.EquivalentTo(new[] { "postgres", "azurite" }));
        foreach (var name in new[] { "postgres", "azurite" })
        {
            var dockerfile = (string)overrides[name]!["build"]!["dockerfile"]!;
            Assert.That(System.IO.File.Exists(Repo.Path(dockerfile.Split('/'))), $"{name}: {dockerfile} exists");
            Assert.That((string?)merged[name]!["image"], Does.StartWith("localhost/"), name);
        }
        // Everything else (commands, health checks, volumes, environment) is the main file's.
        Assert.That(merged["postgres"]!["healthcheck"]?["test"]!.AsArray().Select(c => (string?)c),
            Is.EqualTo(Service("postgres")["healthcheck"]!["test"]!.AsArray().Select(c => (string?)c)), "the main file's health check is kept");
        Assert.That(merged["azurite"]!["command"]!.AsArray().Select(c => (string?)c), Is.EqualTo(Service("azurite")["command"]!.AsArray().Select(c => (string?)c)));
        Assert.That((string?)merged["server"]!["image"], Is.EqualTo("localhost/pipelines:dev"));
    }

    [Test]
    public async Task TheValidator_RejectsAnUnknownServiceKey()
    {
        var compose = Tool.Require("docker-compose", "apt-get install docker-compose");
        var broken = Path.Combine(Path.GetTempPath(), $"compose-{Guid.NewGuid():N}.yaml");
        System.IO.File.WriteAllText(broken, System.IO.File.ReadAllText(File).Replace("stop_grace_period:", "stop_grace_periods:"));
        try
        {
            var result = await Tool.RunAsync(compose, ["-f", broken, "config", "-q"], workingDirectory: Repo.Path("infra"));
            Assert.That(result.ExitCode, Is.Not.EqualTo(0));
            Assert.That(result.Output, Does.Contain("stop_grace_periods"));
        }
        finally { System.IO.File.Delete(broken); }
    }

    [Test]
    public void TheStack_HasPostgresAzuriteMigrationsServerAndTwoWorkers_AndMlflowOnlyInItsProfile()
    {
        Assert.That(_services.Select(kv => kv.Key), Is.EquivalentTo(new[] { "postgres", "azurite", "migrate", "bootstrap", "server", "worker-1", "worker-2", "mlflow" }));
        Assert.That(Service("mlflow")["profiles"]!.AsArray().Select(p => (string?)p), Is.EqualTo(new[] { "mlflow" }));
        foreach (var (name, service) in _services.Where(kv => kv.Key != "mlflow"))
            Assert.That(service!["profiles"], Is.Null, $"{name} starts by default");
    }

    [Test]
    public void PipelinesServices_ShareOneImage_BuiltFromTheDockerfile_WithAReadOnlyRoot()
    {
        var pipelines = new[] { "migrate", "server", "worker-1", "worker-2" };
        Assert.That(pipelines.Select(s => (string?)Service(s)["image"]).Distinct().Count(), Is.EqualTo(1));
        foreach (var name in pipelines)
        {
            var s = Service(name);
            var build = s["build"]!;
            Assert.That(System.IO.File.Exists(Path.Combine(Repo.Path("infra"), (string)build["context"]!, (string)build["dockerfile"]!)), Is.True, name);
            Assert.That((bool?)s["read_only"], Is.True, name);
            Assert.That(s["tmpfs"]!.AsArray().Select(t => (string?)t), Does.Contain("/tmp"), name);
        }
        Assert.That(Service("migrate")["command"]!.AsArray().Select(c => (string?)c), Is.EqualTo(new[] { "migrate" }));
        Assert.That(Service("server")["command"]!.AsArray().Select(c => (string?)c), Is.EqualTo(new[] { "server" }));
        Assert.That(Service("worker-1")["command"]!.AsArray().Select(c => (string?)c), Is.EqualTo(new[] { "worker" }));
    }

    [Test]
    public void MigrationsRunFirst_OnAHealthyDatabase_AndTheServerAndWorkersWaitForThem()
    {
        Assert.That((string?)Service("migrate")["depends_on"]!["postgres"]!["condition"], Is.EqualTo("service_healthy"));
        Assert.That(Service("postgres")["healthcheck"], Is.Not.Null);
        Assert.That((string?)Service("migrate")["restart"], Is.EqualTo("no"));
        foreach (var name in new[] { "server", "bootstrap" })
            Assert.That((string?)Service(name)["depends_on"]!["migrate"]!["condition"], Is.EqualTo("service_completed_successfully"), name);
        // Workers start once the bootstrap has written their tracking key (after the migrations).
        foreach (var name in new[] { "worker-1", "worker-2" })
        {
            Assert.That((string?)Service(name)["depends_on"]!["bootstrap"]!["condition"], Is.EqualTo("service_completed_successfully"), name);
            Assert.That(Env(Service(name), "MLFLOW_TRACKING_TOKEN_FILE"), Does.StartWith("/var/lib/pipelines-shared/"), name);
            Assert.That(Service(name)["volumes"]!.AsArray().Select(v => (string?)v), Does.Contain("keys:/var/lib/pipelines-shared:ro"), name);
        }
    }

    [Test]
    public void Workers_OutliveTheirShutdownGrace_WhenStopped()
    {
        foreach (var name in new[] { "worker-1", "worker-2" })
        {
            var worker = Service(name);
            var grace = Durations.Parse(Env(worker, "PIPELINES_SHUTDOWN_GRACE"));
            var stop = Durations.Parse((string)worker["stop_grace_period"]!);
            Assert.That(stop, Is.GreaterThanOrEqualTo(grace + TimeSpan.FromSeconds(10)), name);
        }
    }

    [Test]
    public void ConnectionStrings_NameTheServicesAndTheSamePassword()
    {
        var postgres = Service("postgres");
        foreach (var name in new[] { "migrate", "server", "worker-1", "worker-2" })
        {
            var db = new Npgsql.NpgsqlConnectionStringBuilder(Env(Service(name), "PIPELINES_DB"));
            Assert.That(db.Host, Is.EqualTo("postgres"), name);
            Assert.That(db.Username, Is.EqualTo(Env(postgres, "POSTGRES_USER")), name);
            Assert.That(db.Password, Is.EqualTo(Env(postgres, "POSTGRES_PASSWORD")), $"{name}: the same ${{POSTGRES_PASSWORD:-…}} expression");
            Assert.That(db.Database, Is.EqualTo(Env(postgres, "POSTGRES_DB")), name);
            Assert.That(Env(Service(name), "PIPELINES_ARTIFACTS"), Does.Contain("BlobEndpoint=http://azurite:10000/"), name);
        }
        Assert.That(Env(Service("worker-1"), "MLFLOW_TRACKING_URI"), Does.Contain("http://server:8080"));
        Assert.That(Env(Service("server"), "MLFLOW_TRACKING_URI"), Is.Empty, "the server is the endpoint");
        Assert.That(Env(Service("server"), "PIPELINES_WORKFLOWS").Split(' ').Select(f => f.Replace("/app/", "")),
            Has.All.Matches<string>(f => System.IO.File.Exists(Repo.Path(f))), "the shipped workflows the image carries");
    }

    [Test]
    public void Data_LivesInDeclaredNamedVolumes()
    {
        var declared = _compose["volumes"]!.AsObject().Select(kv => kv.Key).ToHashSet();
        var used = _services.SelectMany(kv => kv.Value!["volumes"]?.AsArray() ?? [])
            .Select(v => ((string)v!).Split(':')[0]).ToList();
        Assert.That(used, Is.Not.Empty);
        Assert.That(used, Has.All.Matches<string>(v => declared.Contains(v)), "named volumes, not host paths");
        Assert.That(used, Is.SupersetOf(new[] { "postgres", "azurite", "server-data", "mlflow" }));
    }
}
