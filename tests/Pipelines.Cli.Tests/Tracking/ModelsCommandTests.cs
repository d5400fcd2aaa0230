using Pipelines.Cli.Tests.Processes;
using Pipelines.Server;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Cli.Tests.Tracking;

/// <summary><c>pipelines models</c> against the built-in endpoint the command hosts on the same database.</summary>
public class ModelsCommandTests
{
    [Test]
    public async Task PromoteThenRollback_MovesChampionAndPreviousChampion_AndRollbackWithoutAPreviousIsAConflict()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var root = Path.Combine(Path.GetTempPath(), "pipelines-models-" + Guid.NewGuid().ToString("N")[..8]);
        await using (var app = PipelinesServer.Build(new PipelinesServerOptions
                     { DataSource = db.DataSource, ArtifactRoot = root, Urls = ["http://127.0.0.1:0"], RequestLogging = false }))
        {
            await app.StartAsync();
            using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = new Uri(PipelinesServer.Addresses(app).Single()) });
            await client.CreateRegisteredModelAsync("churn");
            for (var i = 1; i <= 2; i++)
                await client.CreateModelVersionAsync(new CreateModelVersionRequest("churn", $"file:///models/{i}"));
            await app.StopAsync();
        }

        async Task<(int, string)> Cli(params string[] args) => await CliProcess.RunAsync([.. args, "--db", db.ConnectionString]);

        var (code, output) = await Cli("models", "rollback", "churn");
        Assert.That(code, Is.EqualTo(4), output);
        Assert.That(output, Does.Contain("no 'previous-champion' to roll back to"));

        (code, output) = await Cli("models", "promote", "churn", "1", "-m", "first");
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await Cli("models", "promote", "churn", "2", "-m", "better");
        Assert.That(output, Does.Contain("champion is version 2, previous-champion version 1"));

        (code, output) = await Cli("models", "rollback", "churn", "-m", "v2 misbehaves");
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await Cli("models", "show", "churn");
        Assert.That(output, Does.Contain("champion: version 1"));
        Assert.That(output, Does.Not.Contain("previous-champion"), "a second rollback cannot undo the first");

        (code, _) = await Cli("models", "show", "nope");
        Assert.That(code, Is.EqualTo(3));
    }
}
