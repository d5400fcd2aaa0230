using System.Net;
using System.Text.Json.Nodes;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Postgres.Artifacts;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Server.Tests;

/// <summary><c>GET /api/v1/artifacts/{id}/preview</c> on real artifacts in a local store: a Parquet table's first rows, an HTML report, bad <c>rows</c>.</summary>
public class ArtifactPreviewTests
{
    private static async Task<ArtifactRecord> PublishAsync(ServerHarness server, string extension, Func<string, Task> write, string name, string mediaType)
    {
        var publisher = new ArtifactPublisher(server.ArtifactStore, new PostgresArtifactRegistry(server.Database.DataSource));
        var file = Path.Combine(Path.GetTempPath(), "api-preview-" + Guid.NewGuid().ToString("N")[..8] + extension);
        try
        {
            await write(file);
            return await publisher.PublishFileAsync(file, new PublishOptions { Name = name, MediaType = mediaType });
        }
        finally { File.Delete(file); }
    }

    [Test]
    public async Task Preview_ShowsAParquetTablesFirstRows_AnHtmlReport_AndNamesRowsWhenOutOfRange()
    {
        await using var server = await ServerHarness.StartAsync();
        var csv = Path.Combine(Path.GetTempPath(), "api-preview-" + Guid.NewGuid().ToString("N")[..8] + ".csv");
        await File.WriteAllTextAsync(csv, "id,name,score\n" + string.Concat(Enumerable.Range(1, 50).Select(i => $"{i},row {i},{i * 0.5}\n")));
        ArtifactRecord table;
        try { table = await PublishAsync(server, ".parquet", f => { ParquetWriter.WriteTable(f, CsvReader.Read(csv).Table); return Task.CompletedTask; }, "scores.parquet", "application/vnd.apache.parquet"); }
        finally { File.Delete(csv); }
        var report = await PublishAsync(server, ".html", f => File.WriteAllTextAsync(f, "<html><body><h1>Drift report</h1><script>alert(1)</script></body></html>"), "report.html", "text/html");
        var binary = await PublishAsync(server, ".bin", f => File.WriteAllBytesAsync(f, [1, 2, 3]), "model.zip", "application/octet-stream");

        using var viewer = server.As("vera", "viewer");
        var preview = await server.GetJsonAsync(viewer, $"/api/v1/artifacts/{table.Id}/preview?rows=3");
        Assert.That(preview["columns"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "id", "name", "score" }));
        Assert.That(preview["totalRows"]!.GetValue<long>(), Is.EqualTo(50));
        var rows = preview["rows"]!.AsArray();
        Assert.That(rows, Has.Count.EqualTo(3));
        Assert.That(rows[2]![1]!.GetValue<string>(), Is.EqualTo("row 3"));
        Assert.That(rows[2]![2]!.GetValue<double>(), Is.EqualTo(1.5));
        var byDefault = await server.GetJsonAsync(viewer, $"/api/v1/artifacts/{table.Id}/preview");
        Assert.That(byDefault["rows"]!.AsArray(), Has.Count.EqualTo(20));

        var html = await server.GetJsonAsync(viewer, $"/api/v1/artifacts/{report.Id}/preview");
        Assert.That(html["kind"]!.GetValue<string>(), Is.EqualTo("html"));
        Assert.That(html["html"]!.GetValue<string>(), Does.Contain("<h1>Drift report</h1>"));

        foreach (var bad in new[] { "0", "1001", "-1", "ten", "2.5" })
        {
            using var r = await viewer.GetAsync($"/api/v1/artifacts/{table.Id}/preview?rows={bad}");
            var body = await r.Content.ReadAsStringAsync();
            Assert.That(r.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
            var problem = JsonNode.Parse(body)!;
            Assert.That(problem["errors"]!["rows"]!.ToJsonString(), Does.Contain("1 to 1000"), body);
        }
        using (var none = await viewer.GetAsync($"/api/v1/artifacts/{binary.Id}/preview"))
            Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using (var missing = await viewer.GetAsync($"/api/v1/artifacts/{Guid.NewGuid()}/preview"))
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using var anonymous = server.Client();
        using (var refused = await anonymous.GetAsync($"/api/v1/artifacts/{table.Id}/preview"))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }
}
