using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tests;

/// <summary>Models registered through the server's MLflow endpoint (with a token), promoted and rolled back through /api/v1.</summary>
public class ModelTests
{
    [Test]
    public async Task Models_ListShowPromoteRollback()
    {
        await using var server = await ServerHarness.StartAsync();
        using (var mlflow = new MlflowClient(new MlflowClientOptions
        {
            TrackingUri = server.BaseAddress, Token = server.Token("trainer", ["operator"]), InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero,
        }))
        {
            var experiment = await mlflow.CreateExperimentAsync("models-api");
            await mlflow.CreateRegisteredModelAsync("churn");
            foreach (var auc in new[] { 0.81, 0.84 })
            {
                var run = await mlflow.CreateRunAsync(new CreateRunRequest { ExperimentId = experiment, RunName = "train" });
                await mlflow.LogBatchAsync(run.Info.RunId, [new Metric("auc", auc, 1_700_000_000_000)], [], []);
                await mlflow.CreateModelVersionAsync(new CreateModelVersionRequest("churn", run.Info.ArtifactUri + "/model", run.Info.RunId));
            }
        }
        using (var viewerMlflow = server.As("vera", "viewer"))
        using (var refused = await viewerMlflow.PostAsJsonAsync("/api/2.0/mlflow/registered-models/create", new { name = "x" }))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "writing to the MLflow endpoint needs an operator");

        using var viewer = server.As("vera", "viewer");
        var models = await server.GetJsonAsync(viewer, "/api/v1/models");
        Assert.That(models["items"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "churn" }));
        var churn = await server.GetJsonAsync(viewer, "/api/v1/models/churn");
        Assert.That(churn["versions"]!.AsArray().Select(v => (v!["version"]!.GetValue<string>(), v["metrics"]!["auc"]!.GetValue<double>())),
            Is.EqualTo(new[] { ("2", 0.84), ("1", 0.81) }));

        using var approver = server.As("ann", "approver");
        using (var p1 = await approver.PostAsJsonAsync("/api/v1/models/churn/promote", new { version = "1" }))
            Assert.That(p1.StatusCode, Is.EqualTo(HttpStatusCode.OK), await p1.Content.ReadAsStringAsync());
        using (var p2 = await approver.PostAsJsonAsync("/api/v1/models/churn/promote", new { version = "2", reason = "better auc" }))
        {
            var body = JsonNode.Parse(await p2.Content.ReadAsStringAsync())!;
            Assert.That((body["champion"]!.GetValue<string>(), body["previousChampion"]!.GetValue<string>(), body["by"]!.GetValue<string>()),
                Is.EqualTo(("2", "1", "ann")));
        }
        Assert.That((await server.GetJsonAsync(viewer, "/api/v1/models/churn"))["aliases"]!["champion"]!.GetValue<string>(), Is.EqualTo("2"));
        using (var rollback = await approver.PostAsJsonAsync("/api/v1/models/churn/rollback", new { }))
            Assert.That(JsonNode.Parse(await rollback.Content.ReadAsStringAsync())!["champion"]!.GetValue<string>(), Is.EqualTo("1"));
        using (var missing = await approver.PostAsJsonAsync("/api/v1/models/churn/promote", new { }))
            Assert.That(JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["errors"]!["version"], Is.Not.Null);
        using (var nothing = await viewer.GetAsync("/api/v1/models/no-such-model"))
            Assert.That(nothing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
