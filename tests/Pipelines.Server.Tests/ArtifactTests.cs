using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Pipelines.Postgres.Artifacts;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Server.Tests;

/// <summary>Artifacts registered in PostgreSQL with bytes in a real local store, read back over HTTP.</summary>
public class ArtifactTests
{
    [Test]
    public async Task Artifact_Metadata_Download_Ranges_AndLineage()
    {
        await using var server = await ServerHarness.StartAsync();
        var publisher = new ArtifactPublisher(server.ArtifactStore, new PostgresArtifactRegistry(server.Database.DataSource));
        var file = Path.Combine(Path.GetTempPath(), "api-artifact-" + Guid.NewGuid().ToString("N")[..8] + ".txt");
        var content = string.Concat(Enumerable.Range(0, 1000).Select(i => $"line {i}\n"));
        await File.WriteAllTextAsync(file, content);
        ArtifactRecord record;
        try { record = await publisher.PublishFileAsync(file, new PublishOptions { Name = "lines.txt", MediaType = "text/plain" }); }
        finally { File.Delete(file); }

        using var viewer = server.As("vera", "viewer");
        var meta = await server.GetJsonAsync(viewer, $"/api/v1/artifacts/{record.Id}");
        Assert.That((meta["name"]!.GetValue<string>(), meta["size"]!.GetValue<long>(), meta["hash"]!.GetValue<string>()),
            Is.EqualTo(("lines.txt", (long)Encoding.UTF8.GetByteCount(content), record.Sha256)));
        var list = await server.GetJsonAsync(viewer, "/api/v1/artifacts?kind=file");
        Assert.That(list["items"]!.AsArray().Select(a => a!["id"]!.GetValue<string>()), Has.Member(record.Id.ToString()));

        using (var whole = await viewer.GetAsync($"/api/v1/artifacts/{record.Id}/content"))
        {
            Assert.That(whole.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await whole.Content.ReadAsStringAsync(), Is.EqualTo(content));
            Assert.That(whole.Headers.AcceptRanges, Has.Member("bytes"));
        }
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/artifacts/{record.Id}/content");
        request.Headers.Range = new RangeHeaderValue(10, 29);
        using (var part = await viewer.SendAsync(request))
        {
            Assert.That(part.StatusCode, Is.EqualTo(HttpStatusCode.PartialContent));
            Assert.That(await part.Content.ReadAsStringAsync(), Is.EqualTo(content.Substring(10, 20)));
            Assert.That(part.Content.Headers.ContentRange!.ToString(), Is.EqualTo($"bytes 10-29/{content.Length}"));
        }
        var suffix = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/artifacts/{record.Id}/content");
        suffix.Headers.Range = new RangeHeaderValue(null, 9);
        using (var tail = await viewer.SendAsync(suffix))
            Assert.That(await tail.Content.ReadAsStringAsync(), Is.EqualTo(content[^9..]));
        var outside = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/artifacts/{record.Id}/content");
        outside.Headers.Range = new RangeHeaderValue(1_000_000, null);
        using (var bad = await viewer.SendAsync(outside))
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.RequestedRangeNotSatisfiable));

        var lineage = await server.GetJsonAsync(viewer, $"/api/v1/artifacts/{record.Id}/lineage");
        Assert.That(lineage["nodes"]!.AsArray().Select(n => n!["id"]!.GetValue<string>()), Has.Member(record.Id.ToString()));
        using (var missing = await viewer.GetAsync($"/api/v1/artifacts/{Guid.NewGuid()}"))
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
