using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Activities.Data;
using Pipelines.Core.Activities;
using Pipelines.Data.Parquet;

namespace Pipelines.Activities.Tests.Data;

public sealed class IngestActivityTests
{
    private DataActivityServices _s = null!;

    [OneTimeSetUp] public async Task SetUp() => _s = await DataActivityServices.CreateAsync();
    [OneTimeTearDown] public async Task TearDown() => await _s.DisposeAsync();

    [Test]
    public async Task Adult_IngestsAsSnappyParquet_WithRowsNullsAndSchema()
    {
        var result = await _s.OkAsync("ingest", new JsonObject { ["source"] = AdultData.Train, ["null_tokens"] = AdultData.Nulls });
        var o = result;
        Assert.That(o["rows"]!.GetValue<int>(), Is.EqualTo(32561));
        Assert.That(o["columns"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()), Does.Contain("age").And.Contain("Y"));
        var stats = o["stats"]!.AsArray().ToDictionary(s => s!["column"]!.GetValue<string>());
        // UCI Adult's documented missing values: workclass 1836, occupation 1843, native-country 583.
        Assert.That(stats["workclass"]!["nulls"]!.GetValue<long>(), Is.EqualTo(1836));
        Assert.That(stats["occupation"]!["nulls"]!.GetValue<long>(), Is.EqualTo(1843));
        Assert.That(stats["native-country"]!["nulls"]!.GetValue<long>(), Is.EqualTo(583));
        Assert.That(stats["age"]!["min"]!.GetValue<long>(), Is.EqualTo(17));
        Assert.That(stats["age"]!["max"]!.GetValue<long>(), Is.EqualTo(90));

        var record = await _s.Registry.GetAsync(Guid.Parse(o["table"]!["artifact"]!.GetValue<string>()));
        Assert.That(record!.RowCount, Is.EqualTo(32561));
        var local = await _s.LocalAsync(o["table"]!);
        using var reader = ParquetReader.Open(local);
        Assert.That(reader.Metadata.RowGroups[0].Columns[0].MetaData!.Codec.ToString(), Is.EqualTo("Snappy"));
    }

    [Test]
    public async Task ArtifactReference_IsAcceptedAsSource()
    {
        var first = await _s.OkAsync("ingest", new JsonObject { ["source"] = AdultData.Test, ["null_tokens"] = AdultData.Nulls });
        var again = await _s.OkAsync("ingest", new JsonObject { ["source"] = first["table"]!.DeepClone() });
        Assert.That(again["rows"]!.GetValue<int>(), Is.EqualTo(16281));
    }

    [Test]
    public async Task EmptyFile_FailsNamingTheFile()
    {
        var path = _s.TempFile("empty.csv");
        File.WriteAllText(path, "");
        var e = await _s.FailAsync("ingest", new JsonObject { ["source"] = path });
        Assert.That(e, Does.Contain("empty.csv").And.Contain("empty"));
    }

    [Test]
    public async Task CorruptParquet_FailsNamingTheFile()
    {
        var good = await _s.OkAsync("ingest", new JsonObject { ["source"] = AdultData.Train, ["null_tokens"] = AdultData.Nulls, ["name"] = "x.parquet" });
        var bytes = File.ReadAllBytes(await _s.LocalAsync(good["table"]!));
        var path = _s.TempFile("truncated.parquet");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = await _s.FailAsync("ingest", new JsonObject { ["source"] = path });
        Assert.That(e, Does.Contain("truncated.parquet"));
    }

    [Test]
    public async Task MissingFile_FailsNamingThePath()
    {
        var e = await _s.FailAsync("ingest", new JsonObject { ["source"] = "/no/such/adult.csv" });
        Assert.That(e, Does.Contain("/no/such/adult.csv"));
    }

    [Test]
    public async Task ABadRowAfterWholeBatches_FailsNamingTheLine_AndLeavesNoPartialParquetBehind()
    {
        // Batches are written as they are read: by the bad row, whole batches of good rows are already in the file.
        var path = _s.TempFile("late-bad-row.csv");
        await using (var w = new StreamWriter(path))
        {
            await w.WriteLineAsync("a,b");
            for (var i = 0; i < 300_000; i++) await w.WriteLineAsync($"{i},{i * 0.5}");
            await w.WriteLineAsync("300000,0.5,extra");
        }
        var (run, step) = await _s.RunStepAsync("ingest", new JsonObject { ["source"] = path, ["name"] = "late.parquet" });

        Assert.That(step.State, Is.EqualTo(Pipelines.Engine.Model.StepState.Failed), run.Run.Error);
        Assert.That(step.Error, Does.Contain($"cannot read source '{path}' as csv: line 300002"));
        var work = Path.Combine(_s.Root, "work", step.Id.ToString("N"));
        Assert.That(Directory.Exists(work), Is.True, "the attempt worked in its folder");
        Assert.That(Directory.EnumerateFiles(work, "late.parquet", SearchOption.AllDirectories), Is.Empty,
            "a source that failed half way leaves no complete-looking Parquet of its first rows");
    }

    [Test]
    public async Task BadRows_Quarantined_ArePublished()
    {
        var path = _s.TempFile("bad.csv");
        File.WriteAllText(path, "a,b\n1,x\n2,y,extra\n3,z\n");
        var r = await _s.OkAsync("ingest", new JsonObject { ["source"] = path, ["bad_rows"] = "quarantine" });
        Assert.That(r["rows"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(r["rejected_rows"]!.GetValue<long>(), Is.EqualTo(1));
        Assert.That(r["quarantine"], Is.Not.Null);
    }

    [Test]
    public async Task DownloadThatCannotConnect_FailsNamingTheUrl()
    {
        // A port nobody listens on (connection refused).
        var e = await _s.FailAsync("ingest", new JsonObject { ["source"] = "http://127.0.0.1:9/adult.csv" });
        Assert.That(e, Does.Contain("download of 'http://127.0.0.1:9/adult.csv' failed"));
    }
}
