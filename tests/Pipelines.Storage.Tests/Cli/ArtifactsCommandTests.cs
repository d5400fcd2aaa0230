using System.Diagnostics;
using System.Text.Json.Nodes;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Artifacts;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Local;
using Pipelines.Testing;

namespace Pipelines.Storage.Tests.Cli;

/// <summary>`pipelines artifacts …` as a real process against a fresh database and a local artifact folder.</summary>
public sealed partial class ArtifactsCommandTests
{
    [System.Text.RegularExpressions.GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial System.Text.RegularExpressions.Regex Ansi();

    private EngineHarness _engine = null!;
    private string _dir = null!;
    private string _store = null!;
    private string? _storeSpec;

    [SetUp]
    public async Task SetUp()
    {
        _engine = await EngineHarness.CreateAsync();
        _dir = Directory.CreateTempSubdirectory("cli-artifacts-").FullName;
        _store = Path.Combine(_dir, "store");
    }

    [TearDown]
    public async Task TearDown()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<(int Code, string Out, string Err)> Cli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipelines.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--db");
        psi.ArgumentList.Add(_engine.Database.ConnectionString);
        psi.Environment["PIPELINES_ARTIFACTS"] = _storeSpec ?? _store;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        // Spectre may decorate (bold) even when piped; compare plain text.
        return (p.ExitCode, Ansi().Replace(await stdout, ""), await stderr);
    }

    private string Parquet(string name, string csv)
    {
        var csvPath = Path.Combine(_dir, name + ".csv");
        File.WriteAllText(csvPath, csv);
        var path = Path.Combine(_dir, name + ".parquet");
        ParquetWriter.WriteTable(path, CsvReader.Read(csvPath).Table);
        return path;
    }

    [Test]
    public async Task Put_List_Show_Get_RoundTrip_AndGetRefusesTamperedBytes()
    {
        var file = Parquet("scores", "id,score\n1,0.5\n2,0.25\n3,0.125\n");
        var put = await Cli("artifacts", "put", file);
        Assert.That(put.Code, Is.EqualTo(0), put.Err);
        var id = put.Out.Trim();
        Assert.That(Guid.TryParse(id, out _), Is.True, put.Out);

        var list = await Cli("artifacts", "list", "--json");
        Assert.That(list.Code, Is.EqualTo(0), list.Err);
        var items = JsonNode.Parse(list.Out)!.AsArray();
        Assert.That(items.Select(i => (string)i!["Id"]!), Is.EqualTo(new[] { id }));
        Assert.That((long)items[0]!["RowCount"]!, Is.EqualTo(3));

        var show = await Cli("artifacts", "show", id);
        Assert.That(show.Code, Is.EqualTo(0), show.Err);
        Assert.That(show.Out, Does.Contain("score").And.Contain("3 rows").And.Contain("registered by hand"));

        var output = Path.Combine(_dir, "copy.parquet");
        var get = await Cli("artifacts", "get", id, "-o", output);
        Assert.That(get.Code, Is.EqualTo(0), get.Err);
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(file)));

        // Flip a byte in the stored copy: get must refuse it and leave no output.
        var stored = Directory.EnumerateFiles(_store, "scores.parquet", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(stored);
        bytes[8] ^= 1;
        File.WriteAllBytes(stored, bytes);
        var bad = await Cli("artifacts", "get", id, "-o", Path.Combine(_dir, "bad.parquet"));
        Assert.That(bad.Code, Is.EqualTo(1));
        Assert.That(bad.Err, Does.Contain("SHA-256 mismatch"));
        Assert.That(File.Exists(Path.Combine(_dir, "bad.parquet")), Is.False);
    }

    [Test]
    public async Task Show_UnknownArtifact_ExitsNotFound()
    {
        var r = await Cli("artifacts", "show", Guid.NewGuid().ToString());
        Assert.That(r.Code, Is.EqualTo(3));
        Assert.That(r.Err, Does.Contain("not found"));
    }

    [Test]
    public async Task LineageAndModelLineage_NameProducerConsumersDataAndCode()
    {
        // The training run is started by a declared trigger, on the success of an upstream run: the model's lineage
        // reaches back to it.
        await _engine.Store.SyncAsync([_engine.Load("""
            name: train-nightly
            on: [{ workflow_succeeded: upstream }]
            steps:
              - id: features
                uses: noop
                cache: false
              - id: train
                uses: noop
                cache: false
                needs: features
            """)]);
        var upstream = await _engine.SubmitAsync("name: upstream\nsteps: [{ id: a, uses: noop, cache: false }]");
        await _engine.StartWorkersAsync();
        var runId = (await Eventually.WaitAsync(() => _engine.Store.ListRunsAsync(new RunFilter("train-nightly")), r => r.Count == 1,
            TimeSpan.FromSeconds(30), "the leader to start the triggered run")).Single().Id;
        var run = await _engine.WaitForEndAsync(runId);
        await _engine.StopWorkersAsync();
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded));
        var steps = run.Steps.ToDictionary(s => s.StepId, s => new StepAttempt(s.Id, s.Attempt));

        var publisher = new ArtifactPublisher(new LocalFolderStore(_store), new PostgresArtifactRegistry(_engine.Database.DataSource));
        var raw = await publisher.PublishFileAsync(Parquet("raw", "id,x\n1,2\n"));
        await publisher.RecordInputAsync(steps["features"], "source", raw.Id);
        var features = await publisher.PublishFileAsync(Parquet("features", "id,f\n1,0.1\n"), new PublishOptions { ProducedBy = steps["features"] });
        await publisher.RecordInputAsync(steps["train"], "train", features.Id);
        var modelPath = Path.Combine(_dir, "model.json");
        File.WriteAllText(modelPath, "{\"booster\":\"gbtree\"}");
        var model = await publisher.PublishFileAsync(modelPath, new PublishOptions { ProducedBy = steps["train"], Kind = ArtifactKinds.Model });

        var lineage = await Cli("artifacts", "lineage", features.Id.ToString());
        Assert.That(lineage.Code, Is.EqualTo(0), lineage.Err);
        Assert.That(lineage.Out, Does.Contain("features (noop@1) attempt 1").And.Contain("source: raw.parquet").And.Contain(runId.ToString()).And.Contain("train"));

        var ml = await Cli("artifacts", "model-lineage", model.Id.ToString(), "--json");
        Assert.That(ml.Code, Is.EqualTo(0), ml.Err);
        var doc = JsonNode.Parse(ml.Out)!;
        var hash = await _engine.Database.ScalarAsync<string>("SELECT wv.content_hash FROM runs r JOIN workflow_versions wv ON wv.id = r.workflow_version_id WHERE r.id = @id", ("id", runId));
        Assert.That((string)doc["code"]!["workflows"]![0]!["content_hash"]!, Is.EqualTo(hash));
        Assert.That(doc["code"]!["activities"]!.AsArray().Select(a => (string)a!), Is.EqualTo(new[] { "noop@1" }));
        Assert.That(doc["data"]!.AsArray().Select(d => (string)d!["Artifact"]!["Name"]!), Is.EquivalentTo(new[] { "features.parquet", "raw.parquet" }));
        Assert.That(doc["sources"]!.AsArray().Select(d => (string)d!["Name"]!), Is.EqualTo(new[] { "raw.parquet" }));
        var trigger = doc["triggers"]!.AsArray().Single()!;
        Assert.That(((string)trigger["run"]!, (string)trigger["triggered_by"]!["kind"]!, (string)trigger["triggered_by"]!["event"]!["run_id"]!),
            Is.EqualTo((runId.ToString(), "workflow_succeeded", upstream.ToString())));

        var text = await Cli("artifacts", "model-lineage", model.Id.ToString());
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        Assert.That(text.Out, Does.Contain(hash).And.Contain("noop@1").And.Contain("raw.parquet")
            .And.Contain($"run {runId} (train-nightly) was triggered by workflow_succeeded upstream: run {upstream} succeeded"));
    }

    [Test]
    public async Task PutAndGet_AgainstAzurite_AndAWrongKeyIsForbiddenWithoutLeakingIt()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        _storeSpec = azurite.ConnectionString(container, prefix: "cli");
        var file = Parquet("remote", "id\n1\n2\n");
        var put = await Cli("artifacts", "put", file);
        Assert.That(put.Code, Is.EqualTo(0), put.Err);
        var id = put.Out.Trim();
        var show = await Cli("artifacts", "show", id);
        Assert.That(show.Out, Does.Contain($"http://127.0.0.1:{azurite.Port}/devstoreaccount1/{container}/cli/sha256/"));
        var copy = Path.Combine(_dir, "copy.parquet");
        var get = await Cli("artifacts", "get", id, "-o", copy);
        Assert.That(get.Code, Is.EqualTo(0), get.Err);
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(File.ReadAllBytes(file)));

        var wrongKey = Convert.ToBase64String(new byte[64]);
        _storeSpec = azurite.ConnectionString(container, prefix: "cli").Replace(AzuriteServer.Key, wrongKey);
        var denied = await Cli("artifacts", "get", id, "-o", Path.Combine(_dir, "denied.parquet"));
        Assert.That(denied.Code, Is.EqualTo(6), denied.Err);
        Assert.That(denied.Err, Does.Contain("403"));
        Assert.That(denied.Err + denied.Out, Does.Not.Contain(wrongKey).And.Not.Contain(AzuriteServer.Key));
    }
}
