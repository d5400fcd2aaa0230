using Pipelines.Deploy.Tests.Support;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Migrations;
using Pipelines.Testing;

namespace Pipelines.Deploy.Tests.Image;

/// <summary>
/// Builds the image with podman from Debian packages (infra/image/build-local.sh) and runs it: non-root, read-only
/// root file system, XGBoost and the .NET runtimes present, migrations, and a worker container that hands back its
/// in-flight step when stopped (SIGTERM through tini). Opt-in, since the build takes minutes:
///   PIPELINES_TEST_IMAGE=1 dotnet test tests/Pipelines.Deploy.Tests --filter ContainerImage
/// PIPELINES_TEST_IMAGE_TAG names the image (default localhost/pipelines:test); PIPELINES_TEST_IMAGE_BUILD=0 reuses it.
/// </summary>
[NonParallelizable]
public class ContainerImageTests
{
    private string _tag = null!;
    private string[] _global = [];
    private string[] _run = [];

    [OneTimeSetUp]
    public async Task BuildImage()
    {
        if (System.Environment.GetEnvironmentVariable("PIPELINES_TEST_IMAGE") != "1")
            Assert.Ignore("set PIPELINES_TEST_IMAGE=1 to build and run the container image (podman; several minutes)");
        Tool.Require("podman", "apt-get install podman");
        _tag = System.Environment.GetEnvironmentVariable("PIPELINES_TEST_IMAGE_TAG") ?? "localhost/pipelines:test";
        if (System.Environment.GetEnvironmentVariable("PIPELINES_TEST_IMAGE_BUILD") != "0")
        {
            var build = await Tool.RunAsync("bash", [Repo.Path("infra", "image", "build-local.sh"), _tag], timeout: TimeSpan.FromMinutes(45));
            Assert.That(build.ExitCode, Is.EqualTo(0), build.Output[^Math.Min(build.Output.Length, 4000)..]);
        }
        // The options under which containers start on this machine (see podman-options.sh).
        var options = await Tool.RunAsync("bash", ["-c", ". infra/image/podman-options.sh; printf '%s\\n' \"${PODMAN_GLOBAL[@]}\" --; printf '%s\\n' \"${PODMAN_RUN[@]}\""]);
        var lines = options.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var split = Array.IndexOf(lines, "--");
        _global = lines[..split];
        _run = lines[(split + 1)..];
    }

    private Task<Tool.Result> Podman(params string[] args) => Tool.RunAsync("podman", [.. _global, .. args], timeout: TimeSpan.FromMinutes(5));

    private string[] Run(params string[] args) =>
        ["run", .. _run, "--network", "host", "--read-only", "--tmpfs", "/tmp", .. args];

    [Test]
    public async Task Image_RunsAsUser10001_WithXGBoostAndTheAspNetCoreRuntime_AndIsSmall()
    {
        var result = await Podman(Run("--rm", "--entrypoint", "/bin/bash", _tag, "-c",
            "id -u; ls /usr/lib/x86_64-linux-gnu/ | grep libxgboost; dotnet --list-runtimes; touch /app/x 2>&1 || echo read-only"));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var lines = result.Stdout.Split('\n');
        Assert.That(lines[0], Is.EqualTo("10001"));
        Assert.That(result.Stdout, Does.Contain("libxgboost.so").And.Contain("Microsoft.AspNetCore.App 10.").And.Contain("read-only"));
        var size = await Podman("image", "inspect", _tag, "--format", "{{.Size}}");
        Assert.That(long.Parse(size.Stdout.Trim()), Is.LessThan(500L * 1024 * 1024), "one small image");
    }

    [Test]
    public async Task Migrate_InTheImage_AppliesTheSchema()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync(migrate: false);
        var result = await Podman(Run("--rm", "-e", $"PIPELINES_DB={db.ConnectionString}", _tag, "migrate"));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM schema_migrations"), Is.EqualTo(Migrator.All.Count));
    }

    [Test]
    public async Task WorkerContainer_IsHealthy_AndOnStopHandsBackItsStep()
    {
        await using var h = await EngineHarness.CreateAsync();
        var name = "pipelines-test-worker-" + Guid.NewGuid().ToString("N")[..8];
        var started = await Podman(Run("-d", "--name", name, "-e", $"PIPELINES_DB={h.Database.ConnectionString}",
            "-e", "PIPELINES_SHUTDOWN_GRACE=1s", _tag, "worker"));
        Assert.That(started.ExitCode, Is.EqualTo(0), started.Output);
        try
        {
            var run = await h.SubmitAsync("""
                name: handback
                steps:
                  - id: long
                    uses: sleep
                    with: { ms: 600000 }
                """);
            await h.WaitForStateAsync(run, r => h.Step(r, "long").State == StepState.Running, TimeSpan.FromSeconds(120), "the container's worker to start the step");
            var health = await Podman("healthcheck", "run", name);
            Assert.That(health.ExitCode, Is.EqualTo(0), "HEALTHCHECK: " + health.Output);

            var stop = await Podman("stop", "-t", "30", name);
            Assert.That(stop.ExitCode, Is.EqualTo(0), stop.Output);
            var exit = await Podman("inspect", name, "--format", "{{.State.ExitCode}}");
            var logs = await Podman("logs", name);
            Assert.That(exit.Stdout.Trim(), Is.EqualTo("0"), logs.Output);
            var step = h.Step(await h.RunAsync(run), "long");
            Assert.That(step.Attempts.Single().State, Is.EqualTo(AttemptState.HandedBack), logs.Output);
            Assert.That(step.State, Is.EqualTo(StepState.Available));
        }
        finally
        {
            await Podman("rm", "-f", name);
        }
    }
}
