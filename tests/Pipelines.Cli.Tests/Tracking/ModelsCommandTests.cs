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

        // A challenger is set and removed by hand; champion is refused (only promote and rollback keep its record).
        (code, output) = await Cli("models", "alias", "churn", "challenger", "2");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("churn: challenger is version 2"));
        (code, output) = await Cli("models", "alias", "churn", "champion", "2");
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("'champion' moves only by 'pipelines models promote' and 'rollback'"));
        (code, output) = await Cli("models", "alias", "churn", "challenger", "--delete");
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await Cli("models", "show", "churn");
        Assert.That(output, Does.Contain("champion: version 1").And.Not.Contain("challenger"));

        (code, _) = await Cli("models", "show", "nope");
        Assert.That(code, Is.EqualTo(3));
    }

    [Test]
    public async Task List_ShowsEveryModel_WithItsVersionsAliasesAndLastChange()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        async Task<(int, string)> Cli(params string[] args) => await CliProcess.RunAsync([.. args, "--db", db.ConnectionString]);

        var (code, output) = await Cli("models", "list");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("no registered models yet"));

        var root = Path.Combine(Path.GetTempPath(), "pipelines-models-" + Guid.NewGuid().ToString("N")[..8]);
        await using (var app = PipelinesServer.Build(new PipelinesServerOptions
                     { DataSource = db.DataSource, ArtifactRoot = root, Urls = ["http://127.0.0.1:0"], RequestLogging = false }))
        {
            await app.StartAsync();
            using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = new Uri(PipelinesServer.Addresses(app).Single()) });
            await client.CreateRegisteredModelAsync("churn");
            for (var i = 1; i <= 3; i++)
                await client.CreateModelVersionAsync(new CreateModelVersionRequest("churn", $"file:///models/{i}"));
            await client.CreateRegisteredModelAsync("adult-income");
            await client.CreateModelVersionAsync(new CreateModelVersionRequest("adult-income", "file:///models/a1"));
            await client.CreateRegisteredModelAsync("unused");
            await app.StopAsync();
        }
        (code, output) = await Cli("models", "promote", "churn", "1", "--user", "carol", "-m", "first");
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await Cli("models", "promote", "churn", "2", "--user", "carol", "-m", "better");
        Assert.That(code, Is.EqualTo(0), output);

        (code, output) = await Cli("models", "list");
        Assert.That(code, Is.EqualTo(0), output);
        var rows = output.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"[│|]", " ").Trim())
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\s{2,}", "  ")).Where(l => l.Length > 0).ToList();
        Assert.That(rows, Has.Some.StartsWith("adult-income  1  1").And.Some.StartsWith("unused  0"), output);
        var churn = rows.Single(r => r.StartsWith("churn"));
        Assert.That(churn, Does.StartWith("churn  3  3  champion=v2, previous-champion=v1  promoted v2 by carol at "), output);
        Assert.That(churn, Does.EndWith(": better"));
        Assert.That(rows.FindIndex(r => r.StartsWith("adult-income")), Is.LessThan(rows.FindIndex(r => r.StartsWith("churn"))), "sorted by name");
    }
}
