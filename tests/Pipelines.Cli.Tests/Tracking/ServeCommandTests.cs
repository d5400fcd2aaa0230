using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Cli.Tests.Tracking;

/// <summary>The real <c>pipelines serve</c> process, driven over HTTP by the MLflow client.</summary>
public class ServeCommandTests
{
    [Test]
    public async Task Serve_TracksARunAndRegistersAModel_ForTheClient()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var artifacts = Path.Combine(Path.GetTempPath(), "pipelines-serve-" + Guid.NewGuid().ToString("N")[..8]);
        using var serve = CliProcess.Start("serve", "--db", db.ConnectionString, "--urls", "http://127.0.0.1:0", "--artifacts", artifacts);
        try
        {
            var url = await TrackingUriAsync(serve);
            using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = url, InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero });

            var experimentId = await client.CreateExperimentAsync("serve-e2e", [new Tag("team", "ml")]);
            var run = await client.CreateRunAsync(new CreateRunRequest { ExperimentId = experimentId, RunName = "train", StartTime = 1_700_000_000_000 });
            await client.LogBatchAsync(run.Info.RunId,
                [new Metric("auc", 0.91, 1_700_000_000_100, 3)], [new Param("depth", "6")], [new Tag("stage", "dev")]);
            await client.UploadArtifactAsync(run.Info.ArtifactUri!, "model/model.json", new MemoryStream("{}"u8.ToArray()));
            await client.UpdateRunAsync(run.Info.RunId, RunStatus.Finished, 1_700_000_001_000);
            await client.CreateRegisteredModelAsync("serve-model");
            var version = await client.CreateModelVersionAsync(new CreateModelVersionRequest("serve-model", run.Info.ArtifactUri + "/model", run.Info.RunId));
            await client.SetAliasAsync("serve-model", "champion", version.Version);

            var got = await client.GetRunAsync(run.Info.RunId);
            Assert.That(got.Info.Status, Is.EqualTo(RunStatus.Finished));
            Assert.That(got.Data.Metric("auc"), Is.EqualTo(new Metric("auc", 0.91, 1_700_000_000_100, 3)));
            Assert.That(got.Data.Param("depth"), Is.EqualTo("6"));
            Assert.That(got.Data.Tag("stage"), Is.EqualTo("dev"));
            Assert.That((await client.ListArtifactsAsync(run.Info.ArtifactUri!, "model")).Select(f => f.Path), Is.EqualTo(new[] { "model.json" }), "the proxy lists names relative to the listed folder");
            var champion = await client.GetModelVersionByAliasAsync("serve-model", "champion");
            Assert.That((champion.Version, champion.RunId, champion.Aliases), Is.EqualTo((version.Version, run.Info.RunId, (IReadOnlyList<string>)["champion"])));
            Assert.That(File.Exists(Path.Combine(artifacts, experimentId, run.Info.RunId, "artifacts", "model", "model.json")),
                "the artifact lives in the folder given to --artifacts");
        }
        finally
        {
            serve.Terminate();
            await serve.WaitForExitAsync(TimeSpan.FromSeconds(30));
            try { Directory.Delete(artifacts, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    /// <summary>The address the process reports once it listens (it was asked for port 0, so only it knows the port).</summary>
    private static async Task<Uri> TrackingUriAsync(CliProcess serve)
    {
        const string marker = "MLflow tracking URI: ";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var line = serve.Output.Split('\n').FirstOrDefault(l => l.StartsWith(marker, StringComparison.Ordinal));
            if (line is not null) return new Uri(line[marker.Length..].Trim());
            if (serve.HasExited) Assert.Fail($"pipelines serve exited before listening:\n{serve.Output}");
            try { await Task.Delay(100, cts.Token); }
            catch (OperationCanceledException) { Assert.Fail($"pipelines serve did not report its address:\n{serve.Output}"); }
        }
    }
}
