using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Cli.Tests.Mlflow;

/// <summary>
/// <c>pipelines models promote|rollback</c> with <c>MLFLOW_TRACKING_URI</c> pointing at the real MLflow 2.17 server:
/// the aliases move as MLflow's own Python client then sees them; a request the server rejects and a stopped server
/// are reported with MLflow's message verbatim and the server's address, and change nothing.
/// </summary>
public class RealMlflowModelsCommandTests
{
    [Test]
    public async Task PromoteAndRollback_AgainstTheRealServer_MoveTheAliasesPythonSees_AndFaultsAreReportedVerbatim()
    {
        await using var mlflow = await RealMlflow.StartNewAsync();
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var name = "cli-" + Guid.NewGuid().ToString("N")[..8];
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = new Uri(mlflow.Uri) }))
        {
            var run = await client.CreateRunAsync(new CreateRunRequest { ExperimentId = await client.GetOrCreateExperimentAsync("cli"), RunName = "trained" });
            await client.CreateRegisteredModelAsync(name);
            for (var i = 0; i < 2; i++)
                await client.CreateModelVersionAsync(new CreateModelVersionRequest(name, PipelineTracking.RunModelUri(run.Info.RunId), run.Info.RunId));
        }
        var env = new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = mlflow.Uri };
        async Task<(int, string)> Cli(params string[] args) =>
            await CliProcess.RunAsync(env, null, TimeSpan.FromMinutes(2), [.. args, "--db", db.ConnectionString]);

        var (code, output) = await Cli("models", "promote", name, "1", "--user", "alice", "-m", "first");
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await Cli("models", "promote", name, "2", "--user", "bob", "-m", "better");
        Assert.That(output, Does.Contain("champion is version 2, previous-champion version 1"));

        // Rejected by the server: MLflow's code and message as it wrote them, and which server said so.
        (code, output) = await Cli("models", "promote", name, "9", "--user", "bob", "-m", "typo");
        Assert.That(code, Is.EqualTo(3), output);
        Assert.That(output, Does.Contain($"error: MLflow at {mlflow.Uri} answered RESOURCE_DOES_NOT_EXIST: Model Version (name={name}, version=9) not found"));

        var script = Path.Combine(mlflow.Directory, "aliases.py");
        await File.WriteAllTextAsync(script, """
            import sys, mlflow
            m = mlflow.MlflowClient().get_registered_model(sys.argv[1])
            print(";".join(f"{k}={v}" for k, v in sorted(m.aliases.items())))
            print(mlflow.MlflowClient().get_model_version(sys.argv[1], "1").tags.get("pipelines.restored_by", ""))
            """);
        Assert.That((await mlflow.PythonAsync(script, [name])).Split('\n')[0], Is.EqualTo("champion=2;previous-champion=1"));

        (code, output) = await Cli("models", "rollback", name, "--user", "carol", "-m", "v2 misbehaves");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("champion is version 1 again"));
        var seen = (await mlflow.PythonAsync(script, [name])).Split('\n');
        Assert.That((seen[0], seen[1]), Is.EqualTo(("champion=1", "carol")));

        // A stopped server: named, exit code "unavailable", nothing changed once it is back.
        await mlflow.StopAsync();
        (code, output) = await Cli("models", "promote", name, "2", "--user", "bob", "-m", "again");
        Assert.That(code, Is.EqualTo(5), output);
        Assert.That(output, Does.Contain($"error: MLflow tracking server {mlflow.Uri} cannot be reached"));
        await mlflow.StartAsync();
        Assert.That((await mlflow.PythonAsync(script, [name])).Split('\n')[0], Is.EqualTo("champion=1"));
    }
}
