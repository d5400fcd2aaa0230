using System.Net;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Tests.Client;

/// <summary>Datasets, experiment and run lifecycles, and registry maintenance: the client against the endpoint over HTTP.</summary>
public class LifecycleAndRegistryTests
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

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<Run> NewRun(string? experimentId = null, string name = "r", long start = 1_700_000_000_000) =>
        await _client.CreateRunAsync(new CreateRunRequest
        {
            ExperimentId = experimentId ?? await _client.CreateExperimentAsync(Unique("exp")), RunName = name, StartTime = start,
        });

    private static DatasetInput Input(string name, string digest, string? context = null, string? schema = null) => new()
    {
        Tags = context is null ? null : [new Tag("mlflow.data.context", context)],
        Dataset = new Dataset { Name = name, Digest = digest, SourceType = "local", Source = "{\"uri\": \"/data/" + name + "\"}", Schema = schema },
    };

    [Test]
    public async Task LogInputs_DatasetsAppearInGetAndSearch_InLoggingOrder()
    {
        var run = await NewRun();
        await _client.LogInputsAsync(run.Info.RunId, [Input("train", "abc123", "training", "{\"mlflow_colspec\": []}"), Input("eval", "def456")]);
        await _client.LogInputsAsync(run.Info.RunId, [Input("train", "abc123", "retraining")]); // same dataset again: its tag is updated

        var got = await _client.GetRunAsync(run.Info.RunId);
        var inputs = got.Inputs!.DatasetInputs!;
        Assert.That(inputs.Select(i => i.Dataset.Name), Is.EqualTo(new[] { "train", "eval" }));
        Assert.That(inputs[0].Dataset, Is.EqualTo(Input("train", "abc123", schema: "{\"mlflow_colspec\": []}").Dataset));
        Assert.That(inputs[0].Tags, Is.EqualTo(new[] { new Tag("mlflow.data.context", "retraining") }));
        Assert.That(inputs[1].Tags, Is.Null);
        Assert.That(inputs[1].Dataset.Schema, Is.Null);

        var found = await _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [run.Info.ExperimentId] });
        Assert.That(found.Items.Single().Inputs!.DatasetInputs!.Select(i => i.Dataset.Digest), Is.EqualTo(new[] { "abc123", "def456" }));
    }

    [Test]
    public async Task LogInputs_OnRunWithoutInputs_ReturnsEmptyInputsObject()
    {
        var run = await NewRun();
        var got = await _client.GetRunAsync(run.Info.RunId);
        Assert.That(got.Inputs, Is.Not.Null);
        Assert.That(got.Inputs!.DatasetInputs, Is.Null);
    }

    [Test]
    public async Task LogInputs_RejectsOverLimitDatasets_AndUnknownOrDeletedRuns_WritingNothing()
    {
        var run = await NewRun();
        var e = Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogInputsAsync(run.Info.RunId,
            [Input("ok", "d1"), Input("bad", new string('d', 37))]));
        Assert.That(e!.Message, Is.EqualTo("Dataset digest exceeds the maximum length of 36"));
        Assert.That((await _client.GetRunAsync(run.Info.RunId)).Inputs!.DatasetInputs, Is.Null, "nothing of the rejected request");
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.LogInputsAsync("nosuchrun", [Input("a", "b")]));
        await _client.DeleteRunAsync(run.Info.RunId);
        var deleted = Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.LogInputsAsync(run.Info.RunId, [Input("a", "b")]));
        Assert.That(deleted!.Message, Does.Contain("must be in the 'active' state"));
    }

    [Test]
    public async Task DeleteRun_HidesItFromDefaultSearch_RunViewTypeFindsIt_RestoreBringsItBack()
    {
        var exp = await _client.CreateExperimentAsync(Unique("runlife"));
        var keep = await NewRun(exp, "keep");
        var gone = await NewRun(exp, "gone", 1_700_000_000_001);
        await _client.DeleteRunAsync(gone.Info.RunId);

        async Task<string[]> Names(string? view) => (await _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [exp], RunViewType = view }))
            .Items.Select(r => r.Info.RunName!).ToArray();
        Assert.That(await Names(null), Is.EqualTo(new[] { "keep" }));
        Assert.That(await Names("DELETED_ONLY"), Is.EqualTo(new[] { "gone" }));
        Assert.That(await Names("ALL"), Is.EqualTo(new[] { "gone", "keep" }));
        Assert.That((await _client.GetRunAsync(gone.Info.RunId)).Info.LifecycleStage, Is.EqualTo("deleted"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchRunsAsync(new SearchRunsRequest { ExperimentIds = [exp], RunViewType = "SOME" }));

        await _client.RestoreRunAsync(gone.Info.RunId);
        Assert.That(await Names(null), Is.EqualTo(new[] { "gone", "keep" }));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.DeleteRunAsync("nosuchrun"));
        _ = keep;
    }

    [Test]
    public async Task SearchExperiments_FiltersOnNameAndTags_OrdersAndPages()
    {
        var prefix = Unique("sx");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
            ids.Add(await _client.CreateExperimentAsync($"{prefix}-{i}", [new Tag("team", i % 2 == 0 ? "even" : "odd")]));

        var byName = await _client.SearchExperimentsAsync(filter: $"name LIKE '{prefix}-%'", orderBy: ["name DESC"]);
        Assert.That(byName.Items.Select(e => e.Name), Is.EqualTo(Enumerable.Range(0, 5).Reverse().Select(i => $"{prefix}-{i}")));

        var even = await _client.SearchExperimentsAsync(filter: $"name ILIKE '{prefix.ToUpperInvariant()}%' and tags.team = 'even'", orderBy: ["name"]);
        Assert.That(even.Items.Select(e => e.ExperimentId), Is.EqualTo(new[] { ids[0], ids[2], ids[4] }));
        Assert.That(even.Items[0].Tags, Is.EqualTo(new[] { new Tag("team", "even") }));

        var exact = await _client.SearchExperimentsAsync(filter: $"attributes.name = '{prefix}-3'");
        Assert.That(exact.Items.Select(e => e.ExperimentId), Is.EqualTo(new[] { ids[3] }));

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _client.SearchExperimentsAsync(filter: $"name LIKE '{prefix}%'", maxResults: 2, orderBy: ["experiment_id ASC"], pageToken: token);
            seen.AddRange(page.Items.Select(e => e.ExperimentId));
            token = page.NextPageToken;
            pages++;
        } while (token is not null);
        Assert.That(seen, Is.EqualTo(ids));
        Assert.That(pages, Is.EqualTo(3));

        var byDefault = (await _client.SearchExperimentsAsync(filter: $"name LIKE '{prefix}%'")).Items;
        Assert.That(byDefault.Select(e => e.ExperimentId), Is.EqualTo(byDefault
            .OrderByDescending(e => e.CreationTime).ThenBy(e => long.Parse(e.ExperimentId)).Select(e => e.ExperimentId)),
            "MLflow's default order: creation_time DESC, experiment_id ASC");
        var ties = (await _client.SearchExperimentsAsync(filter: $"name LIKE '{prefix}%' and tags.team = 'even'", orderBy: ["attributes.name ASC"])).Items;
        Assert.That(ties.Select(e => e.ExperimentId), Is.EqualTo(new[] { ids[0], ids[2], ids[4] }));

        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchExperimentsAsync(filter: "metrics.auc > 1"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchExperimentsAsync(filter: "colour = 'red'"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchExperimentsAsync(orderBy: ["colour"]));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchExperimentsAsync(maxResults: 50001));
    }

    [Test]
    public async Task DeleteExperiment_DeletesItsRuns_ViewTypeShowsIt_RestoreBringsBothBack_RenameKeepsId()
    {
        var name = Unique("lifecycle");
        var id = await _client.CreateExperimentAsync(name);
        var run = await NewRun(id);
        await _client.DeleteExperimentAsync(id);

        Assert.That((await _client.GetExperimentAsync(id)).LifecycleStage, Is.EqualTo("deleted"));
        Assert.That((await _client.GetRunAsync(run.Info.RunId)).Info.LifecycleStage, Is.EqualTo("deleted"));
        Assert.That((await _client.SearchExperimentsAsync(filter: $"name = '{name}'")).Items, Is.Empty);
        Assert.That((await _client.SearchExperimentsAsync(filter: $"name = '{name}'", viewType: "DELETED_ONLY")).Items.Single().ExperimentId, Is.EqualTo(id));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.DeleteExperimentAsync(id), "deleting twice: not an active experiment");
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.CreateRunAsync(new CreateRunRequest { ExperimentId = id }));
        var rename = Assert.ThrowsAsync<MlflowException>(() => _client.RenameExperimentAsync(id, name + "-x"));
        Assert.That(rename!.ErrorCode, Is.EqualTo(MlflowErrorCodes.InvalidState));

        await _client.RestoreExperimentAsync(id);
        Assert.That((await _client.GetRunAsync(run.Info.RunId)).Info.LifecycleStage, Is.EqualTo("active"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.RestoreExperimentAsync(id), "restoring an active experiment");

        await _client.RenameExperimentAsync(id, name + "-renamed");
        Assert.That((await _client.GetExperimentByNameAsync(name + "-renamed"))!.ExperimentId, Is.EqualTo(id));
        Assert.That(await _client.GetExperimentByNameAsync(name), Is.Null);
        var other = await _client.CreateExperimentAsync(Unique("other"));
        Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => _client.RenameExperimentAsync(other, name + "-renamed"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.DeleteExperimentAsync("99999999"));
    }

    [Test]
    public async Task Registry_RenameUpdateDelete_AndVersionNumbersAreNotReused()
    {
        var name = Unique("model");
        await _client.CreateRegisteredModelAsync(name, "first", [new Tag("owner", "ml")]);
        for (var i = 0; i < 3; i++) await _client.CreateModelVersionAsync(new CreateModelVersionRequest(name, $"mlflow-artifacts:/m/{i}"));
        await _client.SetAliasAsync(name, "champion", "3");

        await _client.DeleteModelVersionAsync(name, "3");
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.GetModelVersionAsync(name, "3"));
        Assert.That((await _client.GetRegisteredModelAsync(name)).Aliases, Is.Null, "the alias went with its version");
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.DeleteModelVersionAsync(name, "3"));
        var v4 = await _client.CreateModelVersionAsync(new CreateModelVersionRequest(name, "mlflow-artifacts:/m/4"));
        Assert.That(v4.Version, Is.EqualTo("4"), "a deleted version's number is not handed out again");

        var updated = await _client.UpdateRegisteredModelAsync(name, "second");
        Assert.That(updated.Description, Is.EqualTo("second"));
        var mv = await _client.UpdateModelVersionAsync(name, "4", "candidate");
        Assert.That(mv.Description, Is.EqualTo("candidate"));
        Assert.That((await _client.GetModelVersionAsync(name, "4")).Description, Is.EqualTo("candidate"));

        await _client.SetAliasAsync(name, "champion", "4");
        var renamed = await _client.RenameRegisteredModelAsync(name, name + "-v2");
        Assert.That(renamed.Name, Is.EqualTo(name + "-v2"));
        Assert.That(renamed.Tags, Is.EqualTo(new[] { new Tag("owner", "ml") }));
        Assert.That((await _client.GetModelVersionByAliasAsync(name + "-v2", "champion")).Version, Is.EqualTo("4"));
        Assert.That((await _client.GetModelVersionAsync(name + "-v2", "1")).Name, Is.EqualTo(name + "-v2"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.GetRegisteredModelAsync(name));

        var taken = Unique("taken");
        await _client.CreateRegisteredModelAsync(taken);
        Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => _client.RenameRegisteredModelAsync(name + "-v2", taken));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.RenameRegisteredModelAsync("no-such-model", Unique("x")));

        await _client.DeleteRegisteredModelAsync(name + "-v2");
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.GetRegisteredModelAsync(name + "-v2"));
        Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.GetModelVersionAsync(name + "-v2", "1"));
        Assert.That((await _client.SearchModelVersionsAsync($"name = '{name}-v2'")).Items, Is.Empty);
        var gone = Assert.ThrowsAsync<ResourceDoesNotExistException>(() => _client.DeleteRegisteredModelAsync(name + "-v2"));
        Assert.That(gone!.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task SearchModelVersions_ByNameAndRunId_AndRegisteredModelFilters()
    {
        var name = Unique("sv");
        var run = await NewRun();
        await _client.CreateRegisteredModelAsync(name, tags: [new Tag("task", "churn")]);
        await _client.CreateModelVersionAsync(new CreateModelVersionRequest(name, "mlflow-artifacts:/a", run.Info.RunId));
        await _client.CreateModelVersionAsync(new CreateModelVersionRequest(name, "mlflow-artifacts:/b"));
        await _client.CreateModelVersionAsync(new CreateModelVersionRequest(name, "mlflow-artifacts:/c", run.Info.RunId, [new Tag("stage", "qa")]));
        await _client.SetAliasAsync(name, "champion", "3");

        var all = await _client.SearchModelVersionsAsync($"name='{name}'");
        Assert.That(all.Items.Select(v => v.Version), Is.EqualTo(all.Items
            .OrderByDescending(v => v.LastUpdatedTimestamp).ThenByDescending(v => int.Parse(v.Version)).Select(v => v.Version)),
            "MLflow's default order: last_updated_timestamp DESC, name ASC, version DESC");
        Assert.That(all.Items.Select(v => v.Version), Is.EquivalentTo(new[] { "1", "2", "3" }));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchModelVersionsAsync($"name='{name}'", orderBy: ["name", "name DESC"]));
        var byRun = await _client.SearchModelVersionsAsync($"run_id = '{run.Info.RunId}'", orderBy: ["version_number ASC"]);
        Assert.That(byRun.Items.Select(v => (v.Name, v.Version)), Is.EqualTo(new[] { (name, "1"), (name, "3") }));
        var three = byRun.Items[1];
        Assert.That(three.Tags, Is.EqualTo(new[] { new Tag("stage", "qa") }));
        Assert.That(three.Aliases, Is.EqualTo(new[] { "champion" }));
        var inList = await _client.SearchModelVersionsAsync($"name = '{name}' and run_id IN ('{run.Info.RunId}', 'other')", orderBy: ["version_number DESC"]);
        Assert.That(inList.Items.Select(v => v.Version), Is.EqualTo(new[] { "3", "1" }));
        var tagged = await _client.SearchModelVersionsAsync($"name = '{name}' and tags.stage = 'qa'");
        Assert.That(tagged.Items.Select(v => v.Version), Is.EqualTo(new[] { "3" }));
        var paged = await _client.SearchModelVersionsAsync($"name = '{name}'", maxResults: 2, orderBy: ["version_number ASC"]);
        Assert.That(paged.Items.Select(v => v.Version), Is.EqualTo(new[] { "1", "2" }));
        Assert.That(paged.NextPageToken, Is.Not.Null);

        Assert.That((await _client.SearchRegisteredModelsAsync($"name = '{name}'")).Items.Single().Name, Is.EqualTo(name));
        Assert.That((await _client.SearchRegisteredModelsAsync($"name LIKE '{name[..6]}%' and tags.task = 'churn'")).Items.Select(m => m.Name), Is.EqualTo(new[] { name }));
        Assert.That((await _client.SearchRegisteredModelsAsync($"name ILIKE '{name.ToUpperInvariant()}'")).Items.Select(m => m.Name), Is.EqualTo(new[] { name }));
        Assert.That((await _client.SearchRegisteredModelsAsync($"name = '{name}' and tags.task = 'fraud'")).Items, Is.Empty);
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchRegisteredModelsAsync("metrics.auc > 0.5"));
        Assert.ThrowsAsync<InvalidParameterValueException>(() => _client.SearchModelVersionsAsync("colour = 'red'"));
    }
}
