using System.Text;
using System.Text.Json.Nodes;
using Pipelines.Activities.Hosting;
using Pipelines.Cli.Hosting;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Artifacts;
using Pipelines.Postgres.Engine;
using Pipelines.Storage.Artifacts;
using Pipelines.Storage.Azure;
using Pipelines.Storage.Caching;
using Pipelines.Testing;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>A <c>file</c> trigger watching a blob container, and the run it starts reading the new blob (Azurite).</summary>
public class BlobTriggerTests
{
    [Test]
    public async Task NewBlobInAWatchedContainer_StartsOneRun_WhoseIngestReadsItWithTheArtifactStoresCredential()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var artifactsSpec = azurite.ConnectionString(AzuriteFixture.NewContainer());
        var incoming = AzuriteFixture.NewContainer();
        using var drop = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(incoming)));
        async Task PutAsync(string key, string text)
        {
            await using var content = new MemoryStream(Encoding.UTF8.GetBytes(text));
            await drop.CreateAsync(key, content);
        }
        await PutAsync("daily/old.csv", "x,y\n1,2\n");

        await using var h = await EngineHarness.CreateAsync(options: new PostgresEngineOptions
        {
            TriggerFiles = new TriggerFileSources(() => TriggerFileSources.ArtifactAccount(artifactsSpec)),
        });
        var glob = $"{azurite.BlobEndpoint}/{incoming}/daily/*.csv";
        await h.Store.SyncAsync([h.Load($$$"""
            name: blob-ingest
            parameters:
              data: { type: string }
            on:
              - file: {{{glob}}}
                settle: 0s
                params: { data: "${{ event.path }}" }
            steps: [{ id: load, uses: ingest, cache: false, with: { source: "${{ params.data }}" } }]
            """)]);
        Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(0), "the first scan records what is there");

        await PutAsync("daily/batch-1.csv", "x,y\n1,2\n3,4\n5,6\n");
        await PutAsync("daily/readme.txt", "not data");
        await PutAsync("other/batch-2.csv", "x\n1\n");
        Assert.That(await h.Store.FireTriggersAsync(), Is.EqualTo(1), "one new blob matches the glob");
        Assert.That(await h.Store.FireTriggersAsync(), Is.Zero, "the same blob on the next poll is the same event");

        var run = (await h.Store.ListRunsAsync(new RunFilter("blob-ingest"))).Single();
        var url = $"{glob[..glob.LastIndexOf('/')]}/batch-1.csv";
        var details = await h.RunAsync(run.Id);
        Assert.That(details.Params["data"]!.GetValue<string>(), Is.EqualTo(url));
        Assert.That(details.TriggeredBy!.Event["name"]!.GetValue<string>(), Is.EqualTo("batch-1.csv"));

        // The run's ingest reads the private blob with the artifact store's credential (same account); the URL carries none.
        var root = Directory.CreateTempSubdirectory("pipelines-blob-trigger-");
        try
        {
            using var store = new AzureBlobStore(BlobConnection.Parse(artifactsSpec));
            var services = new ActivityServices
            {
                Artifacts = new ArtifactPublisher(store, new PostgresArtifactRegistry(h.Database.DataSource)),
                Cache = new ArtifactCache(store, Path.Combine(root.FullName, "cache")),
                WorkRoot = Path.Combine(root.FullName, "work"),
            };
            await h.StartWorkersAsync(services: new ServiceSet().Add(services));
            var done = await h.WaitForEndAsync(run.Id, TimeSpan.FromMinutes(2));
            var load = h.Step(done, "load");
            Assert.That(load.State, Is.EqualTo(StepState.Succeeded), load.Error);
            Assert.That(load.Outputs!["rows"]!.GetValue<int>(), Is.EqualTo(3));
        }
        finally
        {
            await h.StopWorkersAsync();
            root.Delete(recursive: true);
        }
    }

    [Test]
    public void AWatchedUrlCarryingASas_IsRefusedWhereItIsWritten()
    {
        var registry = Pipelines.Activities.BuiltinActivities.CreateRegistry();
        var e = Assert.Throws<Pipelines.Core.Validation.WorkflowValidationException>(() => Pipelines.Core.Validation.WorkflowValidator.LoadText("""
            name: w
            on:
              - file: https://acct.blob.core.windows.net/incoming/*.csv?sv=2024-01-01&sig=abc
            steps: [{ id: a, uses: log, with: { message: hi } }]
            """, "w.yaml", registry));
        Assert.That(e!.Message, Does.Contain("w.yaml:3:").And.Contain("SAS").And.Not.Contain("sig=abc"));
    }
}
