using System.Net;
using System.Security.Cryptography;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Tests.Client;

/// <summary>The client against the built-in endpoint over real HTTP on loopback, real PostgreSQL behind it.</summary>
public class MlflowClientTests
{
    private TrackingServerHarness _server = null!;
    private MlflowClient _client = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await TrackingServerHarness.StartAsync();
        _client = _server.Client();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<Run> NewRun(string? experiment = null, IReadOnlyList<Tag>? tags = null)
    {
        var id = await _client.GetOrCreateExperimentAsync(experiment ?? "exp-" + Guid.NewGuid().ToString("N")[..8]);
        return await _client.CreateRunAsync(new CreateRunRequest { ExperimentId = id, RunName = "r", StartTime = 1_700_000_000_000, Tags = tags });
    }

    [Test]
    public async Task GetOrCreateExperiment_ReturnsOneId_WhenEightCallersRace()
    {
        var ids = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _client.GetOrCreateExperimentAsync("race")));
        Assert.That(ids.Distinct(), Has.Exactly(1).Items);
        Assert.That((await _client.GetExperimentByNameAsync("race"))!.ExperimentId, Is.EqualTo(ids[0]));
    }

    [Test]
    public async Task Experiments_MissingIsNull_DuplicateIsTyped_TagsOverwrite()
    {
        Assert.That(await _client.GetExperimentByNameAsync("no-such-experiment"), Is.Null);
        var id = await _client.CreateExperimentAsync("dup", [new Tag("team", "a")]);
        Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => _client.CreateExperimentAsync("dup"));
        await _client.SetExperimentTagAsync(id, "team", "b");
        var e = await _client.GetExperimentAsync(id);
        Assert.That(e.Tags, Is.EqualTo(new[] { new Tag("team", "b") }));
        Assert.That(e.ArtifactLocation, Is.EqualTo($"mlflow-artifacts:/{id}"));
    }

    [Test]
    public async Task NestedRun_CarriesParentTagAndRunName()
    {
        var parent = await NewRun(tags: [new Tag(MlflowTags.User, "ci")]);
        var child = await _client.CreateRunAsync(new CreateRunRequest
        {
            ExperimentId = parent.Info.ExperimentId, RunName = "trial-0", Tags = [new Tag(MlflowTags.ParentRunId, parent.Info.RunId)],
        });
        Assert.That(child.Data.Tag(MlflowTags.ParentRunId), Is.EqualTo(parent.Info.RunId));
        Assert.That(child.Data.Tag(MlflowTags.RunName), Is.EqualTo("trial-0"));
        Assert.That(parent.Data.Tag(MlflowTags.User), Is.EqualTo("ci"));
        var found = await _client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = [parent.Info.ExperimentId], Filter = $"tags.mlflow.parentRunId = '{parent.Info.RunId}'",
        });
        Assert.That(found.Items.Select(r => r.Info.RunId), Is.EqualTo(new[] { child.Info.RunId }));
    }

    [Test]
    public async Task LogBatch_ChunksBeyondMlflowLimits_AndEverythingArrives()
    {
        var run = await NewRun();
        var metrics = Enumerable.Range(0, 2500).Select(i => new Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i)).ToList();
        var parameters = Enumerable.Range(0, 150).Select(i => new Param($"p{i}", i.ToString())).ToList();
        var tags = Enumerable.Range(0, 120).Select(i => new Tag($"t{i}", new string('x', 5000))).ToList();
        Assert.That(LogBatchChunker.Split(run.Info.RunId, metrics, parameters, tags).Count, Is.GreaterThan(3));
        await _client.LogBatchAsync(run.Info.RunId, metrics, parameters, tags);

        var got = await _client.GetRunAsync(run.Info.RunId);
        Assert.That(got.Data.Params, Has.Count.EqualTo(150));
        Assert.That(got.Data.Tags!.Count(t => t.Key.StartsWith('t')), Is.EqualTo(120));
        Assert.That(got.Data.Metric("loss"), Is.EqualTo(new Metric("loss", 1.0 / 2500, 1_700_000_002_499, 2499)));
        var history = await _client.GetMetricHistoryAsync(run.Info.RunId, "loss");
        Assert.That(history.Select(m => m.Step), Is.EqualTo(Enumerable.Range(0, 2500).Select(i => (long)i)));
    }

    [Test]
    public async Task Params_AreImmutable_AndARejectedBatchWritesNothing()
    {
        var run = await NewRun();
        await _client.LogParamAsync(run.Info.RunId, "depth", "6");
        await _client.LogParamAsync(run.Info.RunId, "depth", "6"); // same value: fine
        var e = Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogParamAsync(run.Info.RunId, "depth", "8"));
        Assert.That(e!.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));

        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogBatchAsync(run.Info.RunId,
            [new Metric("auc", 0.9, 1)], [new Param("fresh", "1"), new Param("depth", "9")], [new Tag("stage", "x")]));
        var got = await _client.GetRunAsync(run.Info.RunId);
        Assert.That(got.Data.Metrics, Is.Null, "no metric of the rejected batch");
        Assert.That(got.Data.Param("fresh"), Is.Null, "no param of the rejected batch");
        Assert.That(got.Data.Tag("stage"), Is.Null, "no tag of the rejected batch");
    }

    [Test]
    public async Task Tags_Overwrite()
    {
        var run = await NewRun();
        await _client.SetTagAsync(run.Info.RunId, "stage", "a");
        await _client.SetTagAsync(run.Info.RunId, "stage", "b");
        Assert.That((await _client.GetRunAsync(run.Info.RunId)).Data.Tag("stage"), Is.EqualTo("b"));
    }

    [Test]
    public async Task BadInput_MapsToMlflowErrorCodes_AndWritesNothing()
    {
        var run = await NewRun();
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.GetRunAsync("doesnotexist"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.LogMetricAsync("doesnotexist", "m", 1, 1));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogParamAsync(run.Info.RunId, new string('k', 251), "v"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogParamAsync(run.Info.RunId, "long", new string('v', 6001)));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SetTagAsync(run.Info.RunId, "../escape", "v"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogMetricAsync(run.Info.RunId, "m", 1, -5));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.CreateExperimentAsync(new string('e', 501)));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [run.Info.ExperimentId], Filter = "metrics.auc >>> 0.9" }));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [run.Info.ExperimentId], Filter = "params.x = unquoted" }));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [run.Info.ExperimentId], Filter = "metrics.a > 1 or metrics.b > 2" }));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.CreateRunAsync(new CreateRunRequest { ExperimentId = "987654" }));
        var got = await _client.GetRunAsync(run.Info.RunId);
        Assert.That(got.Data.Params, Is.Null);
        Assert.That(got.Data.Metrics, Is.Null);
        Assert.That(got.Data.Tags!.Select(t => t.Key), Is.EqualTo(new[] { MlflowTags.RunName }));
    }

    [Test]
    public async Task SearchRuns_FiltersOrdersAndPages()
    {
        var exp = await _client.GetOrCreateExperimentAsync("search");
        for (var i = 0; i < 7; i++)
        {
            var r = await _client.CreateRunAsync(new CreateRunRequest { ExperimentId = exp, RunName = $"run-{i}", StartTime = 1000 + i });
            await _client.LogBatchAsync(r.Info.RunId, [new Metric("auc", 0.5 + i / 20.0, 1)], [new Param("kind", i % 2 == 0 ? "even" : "odd")]);
            if (i == 6) await _client.UpdateRunAsync(r.Info.RunId, RunStatus.Finished, 2000);
        }
        var request = new SearchRunsRequest
        {
            ExperimentIds = [exp], Filter = "metrics.auc > 0.55 and params.kind = 'even'", OrderBy = ["metrics.auc DESC"], MaxResults = 1,
        };
        var names = new List<string>();
        await foreach (var r in _client.SearchAllRunsAsync(request)) names.Add(r.Info.RunName!);
        Assert.That(names, Is.EqualTo(new[] { "run-6", "run-4", "run-2" }));

        var finished = await _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [exp], Filter = "attributes.status = 'FINISHED'" });
        Assert.That(finished.Items.Select(r => r.Info.RunName), Is.EqualTo(new[] { "run-6" }));
        var like = await _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [exp], Filter = "attributes.run_name LIKE 'run-%' and params.kind != 'even'" });
        Assert.That(like.Items.Select(r => r.Info.RunName), Is.EqualTo(new[] { "run-5", "run-3", "run-1" }), "default order: start_time DESC");
    }

    [Test]
    public async Task Artifacts_LargeFile_StreamsUpAndDown()
    {
        var run = await NewRun();
        var path = Path.Combine(_server.ArtifactRoot, "..", "upload-" + Guid.NewGuid().ToString("N") + ".bin");
        var data = new byte[40 << 20]; // above Kestrel's default 30 MB body limit
        new Random(7).NextBytes(data);
        await File.WriteAllBytesAsync(path, data);
        try
        {
            await using (var file = File.OpenRead(path)) await _client.UploadArtifactAsync(run.Info.ArtifactUri!, "model/weights.bin", file);
            await using (var small = new MemoryStream("hi"u8.ToArray())) await _client.UploadArtifactAsync(run.Info.ArtifactUri!, "report.txt", small);

            var top = await _client.ListArtifactsAsync(run.Info.ArtifactUri!);
            Assert.That(top.Select(f => (f.Path, f.IsDir)), Is.EqualTo(new[] { ("model", true), ("report.txt", false) }));
            var model = await _client.ListArtifactsAsync(run.Info.ArtifactUri!, "model");
            Assert.That(model.Single().FileSize, Is.EqualTo(data.Length));

            await using var down = await _client.DownloadArtifactAsync(run.Info.ArtifactUri!, "model/weights.bin");
            Assert.That(await SHA256.HashDataAsync(down), Is.EqualTo(SHA256.HashData(data)));
            Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.DownloadArtifactAsync(run.Info.ArtifactUri!, "missing.bin"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task Registry_VersionsAliasesAndReservedNames()
    {
        var run = await NewRun();
        var created = await _client.CreateRegisteredModelAsync("income", "desc", [new Tag("owner", "ml")]);
        Assert.That(created.Description, Is.EqualTo("desc"));
        Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => _client.CreateRegisteredModelAsync("income"));
        var v1 = await _client.CreateModelVersionAsync(new CreateModelVersionRequest("income", run.Info.ArtifactUri + "/model", run.Info.RunId));
        var v2 = await _client.CreateModelVersionAsync(new CreateModelVersionRequest("income", run.Info.ArtifactUri + "/model", run.Info.RunId));
        Assert.That((v1.Version, v2.Version), Is.EqualTo(("1", "2")));
        Assert.That((await _client.WaitForModelVersionReadyAsync("income", "2")).Status, Is.EqualTo(ModelVersionStatus.Ready));

        await _client.SetAliasAsync("income", "champion", "1");
        Assert.That((await _client.GetModelVersionByAliasAsync("income", "champion")).Version, Is.EqualTo("1"));
        await _client.SetAliasAsync("income", "champion", "2");
        var model = await _client.GetRegisteredModelAsync("income");
        Assert.That(model.VersionOf("champion"), Is.EqualTo("2"));
        Assert.That(model.LatestVersions!.Single().Version, Is.EqualTo("2"));
        Assert.That(model.Tags, Is.EqualTo(new[] { new Tag("owner", "ml") }));

        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SetAliasAsync("income", "Latest", "1"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SetAliasAsync("income", "v3", "1"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SetAliasAsync("income", "bad alias", "1"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.SetAliasAsync("income", "ok", "99"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.GetRegisteredModelAsync("nope"));
        await _client.DeleteAliasAsync("income", "champion");
        var missing = Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.GetModelVersionByAliasAsync("income", "champion"));
        Assert.That(missing!.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "MLflow answers a missing alias with 400, not 404");

        var search = await _client.SearchRegisteredModelsAsync("name LIKE 'inc%'");
        Assert.That(search.Items.Select(m => m.Name), Is.EqualTo(new[] { "income" }));
    }

    [Test]
    public async Task TransientFailures_AreRetried_ThenSurfaced()
    {
        var flaky = new FlakyHandler(failures: 2, HttpStatusCode.ServiceUnavailable);
        using var client = _server.Client(handler: flaky);
        Assert.That(await client.GetExperimentByNameAsync("Default"), Is.Not.Null);
        Assert.That(flaky.Calls, Is.EqualTo(3));

        var always = new FlakyHandler(failures: 100, HttpStatusCode.TooManyRequests);
        using var giving = _server.Client(o => o with { MaxAttempts = 3 }, always);
        var e = Assert.ThrowsAsync<MlflowException>(() => giving.GetExperimentByNameAsync("Default"));
        Assert.That(e!.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(always.Calls, Is.EqualTo(3));

        var notRetried = new FlakyHandler(failures: 0, HttpStatusCode.OK);
        using var plain = _server.Client(handler: notRetried);
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => plain.GetRunAsync("nope"));
        Assert.That(notRetried.Calls, Is.EqualTo(1), "4xx is not retried");
    }

    [Test]
    public async Task Credentials_AreSentOnEveryRequest()
    {
        var bearer = new FlakyHandler(0, HttpStatusCode.OK);
        using (var c = _server.Client(o => o with { Token = "tok" }, bearer)) await c.GetExperimentByNameAsync("Default");
        Assert.That(bearer.Authorization, Is.EqualTo("Bearer tok"));
        var basic = new FlakyHandler(0, HttpStatusCode.OK);
        using (var c = _server.Client(o => o with { Username = "u", Password = "p" }, basic)) await c.GetExperimentByNameAsync("Default");
        Assert.That(basic.Authorization, Is.EqualTo("Basic " + Convert.ToBase64String("u:p"u8.ToArray())));
    }

    /// <summary>Answers the first <c>failures</c> requests itself with <c>status</c>, then forwards to the real server.</summary>
    private sealed class FlakyHandler(int failures, HttpStatusCode status) : DelegatingHandler(new SocketsHttpHandler())
    {
        public int Calls;
        public string? Authorization;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Calls++;
            Authorization = request.Headers.Authorization?.ToString();
            return Calls <= failures ? Task.FromResult(new HttpResponseMessage(status)) : base.SendAsync(request, ct);
        }
    }
}
