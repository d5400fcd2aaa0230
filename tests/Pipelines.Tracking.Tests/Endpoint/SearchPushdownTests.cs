using Pipelines.Server.Tracking;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Tests.Endpoint;

/// <summary>
/// Run search filters run in PostgreSQL; these compare every answer with the reference in-process matcher
/// (<see cref="RunSearch.Matches"/>) over a varied set of runs, so the SQL cannot drift from MLflow's semantics.
/// </summary>
public class SearchPushdownTests
{
    private TrackingServerHarness _server = null!;
    private MlflowClient _client = null!;
    private string _experiment = null!;
    private List<Run> _all = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await TrackingServerHarness.StartAsync();
        _client = _server.Client();
        _experiment = await _client.CreateExperimentAsync("pushdown");
        var random = new Random(42);
        string[] teams = ["alpha", "Alpha", "beta", "a_b", "a%b", @"a\b"];
        string[] statuses = [RunStatus.Finished, RunStatus.Failed, RunStatus.Running];
        for (var i = 0; i < 60; i++)
        {
            var run = await _client.CreateRunAsync(new CreateRunRequest
            {
                ExperimentId = _experiment, RunName = $"trial-{i}", StartTime = 1_700_000_000_000 + i * 1000, UserId = $"u{i % 3}",
            });
            var metrics = new List<Metric>();
            if (i % 7 != 0) metrics.Add(new Metric("auc", Math.Round(random.NextDouble(), 2), 1, 0));
            if (i % 5 == 0) metrics.Add(new Metric("auc", 0.25, 2, 1)); // a later step wins: search compares the latest value
            if (i % 3 == 0) metrics.Add(new Metric("loss", -random.Next(3), 1));
            var parameters = i % 4 == 0 ? new List<Param>() : [new Param("depth", (i % 5).ToString()), new Param("lr", i % 2 == 0 ? "0.1" : "1e-2")];
            var tags = new List<Tag>();
            if (i % 8 != 7) tags.Add(new Tag("team", teams[i % teams.Length]));
            if (i % 9 == 0) tags.Add(new Tag("odd key", "x y"));
            await _client.LogBatchAsync(run.Info.RunId, metrics, parameters, tags);
            var status = statuses[i % statuses.Length];
            if (status != RunStatus.Running) await _client.UpdateRunAsync(run.Info.RunId, status, 1_700_000_500_000 + i * 1000);
        }
        _all = await _client.SearchAllRunsAsync(new SearchRunsRequest { ExperimentIds = [_experiment] }).ToListAsync();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static IEnumerable<string> Filters()
    {
        yield return "metrics.auc > 0.5";
        yield return "metrics.auc = 0.25";
        yield return "metrics.auc != 0.25";
        yield return "metrics.auc <= 0.3 and metrics.loss < 0";
        yield return "metrics.loss >= -1";
        yield return "metrics.missing > 0";
        yield return "params.depth = '3'";
        yield return "params.depth != '3'";
        yield return "params.lr LIKE '1e%'";
        yield return "params.lr ILIKE '%E-2'";
        yield return "tags.team = 'alpha'";
        yield return "tags.team != 'alpha'";
        yield return "tags.team LIKE 'a%'";
        yield return "tags.team ILIKE 'a%'";
        yield return "tags.team LIKE 'a_b'";
        yield return @"tags.team LIKE 'a\b'";
        yield return "tags.`odd key` = 'x y'";
        yield return "attributes.status = 'FINISHED'";
        yield return "status != 'RUNNING'";
        yield return "attributes.run_name LIKE 'trial-1%'";
        yield return "run_name ILIKE 'TRIAL-2_'";
        yield return "attributes.user_id = 'u1' and metrics.auc > 0.1";
        yield return "attributes.start_time >= 1700000030000";
        yield return "attributes.end_time < 1700000520000";
        yield return "attributes.created > 1700000050000 and params.depth = '1'";
        yield return "attributes.artifact_uri LIKE '%artifacts'";
        yield return "attributes.lifecycle_stage = 'active' and tags.team ILIKE '%B'";
    }

    [TestCaseSource(nameof(Filters))]
    public async Task SqlFilter_SelectsExactlyTheRunsTheReferenceMatcherSelects(string filter)
    {
        var expected = _all.Where(r => RunSearch.Matches(r, RunSearch.Parse(filter))).Select(r => r.Info.RunId).ToList();
        var actual = await _client.SearchAllRunsAsync(new SearchRunsRequest { ExperimentIds = [_experiment], Filter = filter })
            .Select(r => r.Info.RunId).ToListAsync();
        Assert.That(actual, Is.EqualTo(expected), filter);
    }

    [Test]
    public async Task RunIdIn_AndNotIn_SelectExactlyTheListedRuns()
    {
        var some = _all.Where((_, i) => i % 10 == 0).Select(r => r.Info.RunId).ToList();
        var list = string.Join(", ", some.Select(id => $"'{id}'"));
        var inList = await _client.SearchAllRunsAsync(new SearchRunsRequest { ExperimentIds = [_experiment], Filter = $"attributes.run_id IN ({list})" })
            .Select(r => r.Info.RunId).ToListAsync();
        Assert.That(inList, Is.EqualTo(some));
        var notIn = await _client.SearchAllRunsAsync(new SearchRunsRequest { ExperimentIds = [_experiment], Filter = $"run_id NOT IN ({list})" })
            .Select(r => r.Info.RunId).ToListAsync();
        Assert.That(notIn, Is.EqualTo(_all.Select(r => r.Info.RunId).Except(some)));
    }

    [Test]
    public void TheSetOfRunsIsVaried_SoTheComparisonsMeanSomething()
    {
        Assert.That(_all, Has.Count.EqualTo(60));
        foreach (var f in Filters())
        {
            var n = _all.Count(r => RunSearch.Matches(r, RunSearch.Parse(f)));
            // Every run's artifact URI ends so; that filter proves the attribute is read, not that it discriminates.
            if (f is not ("metrics.missing > 0" or "attributes.artifact_uri LIKE '%artifacts'"))
                Assert.That(n, Is.InRange(1, 59), $"'{f}' should select some runs but not all");
        }
    }
}
