using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Artifacts;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Local;
using Pipelines.Testing;

namespace Pipelines.Storage.Tests.Artifacts;

/// <summary>
/// The registry on a fresh migrated PostgreSQL database, with real step attempts from the engine: a
/// three-step workflow (ingest → features → train) runs to completion, then each step's outputs and inputs
/// are published and recorded as its activity would.
/// </summary>
public sealed class ArtifactRegistryTests
{
    // cache: false, or the identical noop steps would reuse the first one's outputs without an attempt.
    private const string Workflow = """
        name: lineage
        steps:
          - id: ingest
            uses: noop
            cache: false
          - id: features
            uses: noop
            cache: false
            needs: ingest
          - id: train
            uses: noop
            cache: false
            needs: features
        """;

    private EngineHarness _engine = null!;
    private PostgresArtifactRegistry _registry = null!;
    private ArtifactPublisher _publisher = null!;
    private string _dir = null!;
    private Dictionary<string, StepAttempt> _steps = null!;
    private Guid _runId;

    [SetUp]
    public async Task SetUp()
    {
        _engine = await EngineHarness.CreateAsync();
        _registry = new PostgresArtifactRegistry(_engine.Database.DataSource);
        _dir = Directory.CreateTempSubdirectory("registry-").FullName;
        _publisher = new ArtifactPublisher(new LocalFolderStore(Path.Combine(_dir, "store")), _registry);
        _runId = await _engine.SubmitAsync(Workflow);
        await _engine.StartWorkersAsync();
        var run = await _engine.WaitForEndAsync(_runId);
        await _engine.StopWorkersAsync();
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded));
        _steps = run.Steps.ToDictionary(s => s.StepId, s => new StepAttempt(s.Id, s.Attempt));
    }

    [TearDown]
    public async Task TearDown()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Parquet(string name, string csv)
    {
        var csvPath = Path.Combine(_dir, name + ".csv");
        File.WriteAllText(csvPath, csv);
        var path = Path.Combine(_dir, name + ".parquet");
        ParquetWriter.WriteTable(path, CsvReader.Read(csvPath).Table);
        return path;
    }

    private static Pipelines.Data.Tables.Schema ReadSchema(string path)
    {
        using var reader = ParquetReader.Open(path);
        return reader.Schema;
    }

    private string File_(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public async Task PublishParquet_RegistersTableWithFooterSchemaAndRowCount_AtAnAttemptScopedUri()
    {
        var path = Parquet("train", "id,amount,label\n1,2.5,a\n2,3.5,b\n3,,a\n");
        var a = await _publisher.PublishFileAsync(path, new PublishOptions { ProducedBy = _steps["features"] });

        Assert.That(a.Kind, Is.EqualTo(ArtifactKinds.Table));
        Assert.That(a.RowCount, Is.EqualTo(3));
        var columns = System.Text.Json.Nodes.JsonNode.Parse(a.SchemaJson!)!.AsArray();
        Assert.That(columns.Select(c => (string)c!["name"]!), Is.EqualTo(new[] { "id", "amount", "label" }));
        Assert.That((string)columns[1]!["type"]!, Is.EqualTo(ReadSchema(path).Fields[1].Type.ToString()));
        Assert.That(a.MediaType, Is.EqualTo(MediaTypes.Parquet));
        Assert.That(a.Size, Is.EqualTo(new FileInfo(path).Length));
        Assert.That(a.Uri, Does.Contain($"attempts/{_steps["features"].StepRunId:N}/{_steps["features"].Attempt}/train.parquet"));
        Assert.That(a.Producer!.StepId, Is.EqualTo("features"));
        Assert.That(a.Producer.RunId, Is.EqualTo(_runId));
        Assert.That(a.Producer.ActivityKind, Is.EqualTo("noop"));
        Assert.That(a.Producer.WorkflowContentHash, Is.Not.Empty);
        Assert.That(await _registry.GetByUriAsync(a.Uri), Is.EqualTo(a));
    }

    [Test]
    public async Task Publish_Twice_IsIdempotent_ButOtherBytesAtTheSameLocationConflict()
    {
        var path = File_("m.json", "{\"trees\":1}");
        var first = await _publisher.PublishFileAsync(path, new PublishOptions { ProducedBy = _steps["train"], Kind = ArtifactKinds.Model });
        var again = await _publisher.PublishFileAsync(path, new PublishOptions { ProducedBy = _steps["train"], Kind = ArtifactKinds.Model });
        Assert.That(again.Id, Is.EqualTo(first.Id));

        File.WriteAllText(path, "{\"trees\":2}");
        Assert.ThrowsAsync<ArtifactConflictException>(() => _publisher.PublishFileAsync(path, new PublishOptions { ProducedBy = _steps["train"], Kind = ArtifactKinds.Model }));
        Assert.That(await _publisher.Store.ReadAllBytesAsync($"attempts/{_steps["train"].StepRunId:N}/1/m.json"), Is.EqualTo("{\"trees\":1}"u8.ToArray()));
        Assert.That((await _registry.ListAsync(new ArtifactFilter())).Count, Is.EqualTo(1));
    }

    [Test]
    public async Task HandRegistered_IsContentAddressed_AndDeduplicated()
    {
        var a = await _publisher.PublishFileAsync(File_("labels.csv", "id,label\n1,a\n"));
        var b = await _publisher.PublishFileAsync(File_("labels.csv", "id,label\n1,a\n"));
        Assert.That(b.Id, Is.EqualTo(a.Id));
        Assert.That(a.Uri, Does.Contain($"sha256/{a.Sha256[..2]}/{a.Sha256}/labels.csv"));
        Assert.That(a.Producer, Is.Null);
        Assert.That(a.Kind, Is.EqualTo(ArtifactKinds.File));
    }

    [Test]
    public async Task Register_RejectsATableWithoutSchema_AndOtherHashAtTheSameUri()
    {
        var sha = new string('a', 64);
        Assert.ThrowsAsync<ArgumentException>(() => _registry.RegisterAsync(new NewArtifact("file:///x", sha, 1, "x", ArtifactKinds.Table, "x", null, null, null)));
        await _registry.RegisterAsync(new NewArtifact("file:///y", sha, 1, "x", ArtifactKinds.File, "y", null, null, null));
        Assert.ThrowsAsync<ArtifactConflictException>(() => _registry.RegisterAsync(new NewArtifact("file:///y", new string('b', 64), 1, "x", ArtifactKinds.File, "y", null, null, null)));
        Assert.ThrowsAsync<Npgsql.PostgresException>(() => _registry.RegisterAsync(new NewArtifact("file:///z", "not-a-hash", 1, "x", ArtifactKinds.File, "z", null, null, null)));
    }

    [Test]
    public async Task Lineage_FollowsProducersAndConsumers_AndModelLineageNamesDataAndCode()
    {
        var raw = await _publisher.PublishFileAsync(Parquet("raw", "id,x\n1,1\n2,2\n"), new PublishOptions { ProducedBy = _steps["ingest"] });
        var labels = await _publisher.PublishFileAsync(File_("labels.csv", "id,label\n1,a\n"));
        await _publisher.RecordInputAsync(_steps["features"], "source", raw.Id);
        var features = await _publisher.PublishFileAsync(Parquet("features", "id,f\n1,0.5\n2,0.7\n"), new PublishOptions { ProducedBy = _steps["features"] });
        await _publisher.RecordInputAsync(_steps["train"], "train", features.Id);
        await _publisher.RecordInputAsync(_steps["train"], "labels", labels.Id);
        var model = await _publisher.PublishFileAsync(File_("model.json", "{}"), new PublishOptions { ProducedBy = _steps["train"], Kind = ArtifactKinds.Model });

        var consumers = await _registry.ConsumersAsync(raw.Id);
        Assert.That(consumers.Select(c => (c.StepId, c.InputName, c.RunId)), Is.EqualTo(new[] { ("features", "source", _runId) }));
        Assert.That(await _registry.ConsumersAsync(model.Id), Is.Empty);

        var upstream = await _registry.UpstreamAsync(model.Id);
        Assert.That(upstream.Select(u => (u.Depth, u.Artifact.Name, u.InputName)), Is.EquivalentTo(new[]
        {
            (1, "features.parquet", "train"), (1, "labels.csv", "labels"), (2, "raw.parquet", "source"),
        }));

        var lineage = await _registry.ModelLineageAsync(model.Id);
        Assert.That(lineage.Code.Select(c => c.StepId), Is.EquivalentTo(new[] { "train", "features", "ingest" }));
        Assert.That(lineage.Activities, Is.EqualTo(new[] { "noop@1" }));
        Assert.That(lineage.WorkflowVersions.Single().Workflow, Is.EqualTo("lineage"));
        Assert.That(lineage.Sources.Select(s => s.Name), Is.EquivalentTo(new[] { "raw.parquet", "labels.csv" }));

        Assert.That((await _registry.ListAsync(new ArtifactFilter(RunId: _runId))).Count, Is.EqualTo(3));
        Assert.That((await _registry.ListAsync(new ArtifactFilter(Kind: ArtifactKinds.Table))).Count, Is.EqualTo(2));
        Assert.That((await _registry.ListAsync(new ArtifactFilter(Sha256: labels.Sha256))).Single().Id, Is.EqualTo(labels.Id));
    }

    [Test]
    public async Task DeletingTheRun_KeepsItsArtifacts_AndForgetsTheProducer()
    {
        var a = await _publisher.PublishFileAsync(Parquet("raw", "id\n1\n"), new PublishOptions { ProducedBy = _steps["ingest"] });
        await _engine.Database.ExecAsync("DELETE FROM runs WHERE id = @id", ("id", _runId));
        var after = await _registry.GetAsync(a.Id);
        Assert.That(after!.Producer, Is.Null);
        Assert.That(after.Sha256, Is.EqualTo(a.Sha256));
    }
}
