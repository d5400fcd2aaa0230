using System.Net;
using System.Text.Json.Nodes;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tests;

/// <summary>
/// <c>GET /api/v1/runs/{id}/steps/{step}/metrics</c>: the per-round curves of a step's tracked runs, found through the
/// tracking server (parent run tagged with the pipeline run, nested runs tagged with the step's rows), as the run view draws them.
/// </summary>
public class StepMetricsTests
{
    [Test]
    public async Task StepMetrics_AreTheHistoriesOfTheStepsOwnTrackedRuns()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.StartWorkersAsync();
        await server.CreateWorkflowAsync(Workflows.Hello);
        var id = await server.StartRunAsync("hello", "olga");
        // Another count: neither run's steps can be served from the other's cache, so both have their own item rows.
        var other = await server.StartRunAsync("hello", "olga", new { count = 3 });
        await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "succeeded", "the run to succeed");
        await server.WaitForRunAsync(other, r => r["state"]!.GetValue<string>() == "succeeded", "the other run to succeed");
        var items = await RowsAsync(server, id, "greet");
        var numbers = (await RowsAsync(server, id, "numbers")).Single();
        var otherItem = (await RowsAsync(server, other, "greet")).First(r => r.Item is not null);
        Assert.That(items.Count(r => r.Item is not null), Is.EqualTo(2), "the greet step fans out over two items");

        // What training activities log: a parent run per pipeline run, a nested run per trial tagged with its step row,
        // the per-round history of valid_/train_ metrics and best_ summaries.
        using (var mlflow = new MlflowClient(new MlflowClientOptions
        {
            TrackingUri = server.BaseAddress, Token = server.Token("trainer", ["operator"]), InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero,
        }))
        {
            var experiment = await mlflow.CreateExperimentAsync("hello");
            await mlflow.CreateExperimentAsync("empty");
            async Task<string> Parent(Guid pipelineRun) => (await mlflow.CreateRunAsync(new CreateRunRequest
            {
                ExperimentId = experiment, RunName = "hello", Tags = [new Tag("pipelines.run_id", pipelineRun.ToString())],
            })).Info.RunId;
            async Task Trial(string parent, string name, Guid row, double offset)
            {
                var run = await mlflow.CreateRunAsync(new CreateRunRequest
                {
                    ExperimentId = experiment, RunName = name,
                    Tags = [new Tag(MlflowTags.ParentRunId, parent), new Tag("pipelines.step_run_id", row.ToString()), new Tag("pipelines.trial", name)],
                });
                var metrics = Enumerable.Range(0, 5).SelectMany(s => new[]
                {
                    new Metric("valid_auc", offset + s / 100.0, 1_700_000_000_000 + s, s), new Metric("train_auc", offset + s / 50.0, 1_700_000_000_000 + s, s),
                }).Append(new Metric("best_valid_auc", offset + 0.04, 1_700_000_000_100)).ToList();
                // Logged out of order: the curve comes back by round.
                metrics.Reverse();
                await mlflow.LogBatchAsync(run.Info.RunId, metrics, [], []);
            }
            var parent = await Parent(id);
            var greet = items.Where(r => r.Item is not null).OrderBy(r => r.Item).ToList();
            await Trial(parent, "trial-1", greet[1].Id, 0.80);
            await Trial(parent, "trial-0", greet[0].Id, 0.70);
            await Trial(parent, "numbers-run", numbers.Id, 0.10);
            await Trial(await Parent(other), "elsewhere", otherItem.Id, 0.20);
        }

        using var viewer = server.As("vera", "viewer");
        var curves = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/greet/metrics");
        Assert.That(curves["metrics"]!.AsArray().Select(k => k!.GetValue<string>()), Is.EqualTo(new[] { "train_auc", "valid_auc" }));
        Assert.That(curves["runs"]!.GetValue<int>(), Is.EqualTo(2), "only the step's own trials, not another step's or another run's");
        var series = curves["series"]!.AsArray();
        Assert.That(series.Select(s => (s!["label"]!.GetValue<string>(), s["metric"]!.GetValue<string>())),
            Is.EqualTo(new[] { ("trial-0", "valid_auc"), ("trial-1", "valid_auc") }), "by default the validation curves, in label order");
        Assert.That(series[0]!["points"]!.AsArray().Select(p => (p!["step"]!.GetValue<long>(), p["value"]!.GetValue<double>())),
            Is.EqualTo(Enumerable.Range(0, 5).Select(s => ((long)s, 0.70 + s / 100.0))));

        var train = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/greet/metrics?metric=train_auc");
        Assert.That(train["series"]!.AsArray().Select(s => s!["points"]!.AsArray()[4]!["value"]!.GetValue<double>()), Is.EqualTo(new[] { 0.70 + 4 / 50.0, 0.80 + 4 / 50.0 }));

        var numbersCurves = await server.GetJsonAsync(viewer, $"/api/v1/runs/{id}/steps/numbers/metrics");
        Assert.That(numbersCurves["series"]!.AsArray().Select(s => s!["label"]!.GetValue<string>()), Is.EqualTo(new[] { "numbers-run" }));

        using (var bad = await viewer.GetAsync($"/api/v1/runs/{id}/steps/greet/metrics?metric=auc%3B%20drop"))
        {
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(JsonNode.Parse(await bad.Content.ReadAsStringAsync())!["errors"]!["metric"], Is.Not.Null, "the error names the parameter");
        }
        using (var missing = await viewer.GetAsync($"/api/v1/runs/{id}/steps/nope/metrics"))
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using (var anonymous = server.Client())
        using (var refused = await anonymous.GetAsync($"/api/v1/runs/{id}/steps/greet/metrics"))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    private static async Task<List<(Guid Id, int? Item)>> RowsAsync(ServerHarness server, Guid run, string step)
    {
        await using var cmd = server.Database.DataSource.CreateCommand("SELECT id, item_index FROM step_runs WHERE run_id = $1 AND step_id = $2");
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = run });
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = step });
        var rows = new List<(Guid, int?)>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetInt32(1)));
        return rows;
    }
}
