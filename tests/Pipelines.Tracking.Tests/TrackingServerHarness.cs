using Microsoft.AspNetCore.Builder;
using Pipelines.Server;
using Pipelines.Testing;
using Pipelines.Tracking.Client;

namespace Pipelines.Tracking.Tests;

/// <summary>A fresh migrated database and the built-in endpoint on a free loopback port, over real HTTP.</summary>
public sealed class TrackingServerHarness : IAsyncDisposable
{
    private TrackingServerHarness(TestDatabase db, WebApplication app, Uri url, string artifactRoot)
    {
        Database = db;
        App = app;
        Url = url;
        ArtifactRoot = artifactRoot;
    }

    public TestDatabase Database { get; }
    public WebApplication App { get; }
    public Uri Url { get; }
    public string ArtifactRoot { get; }

    public static async Task<TrackingServerHarness> StartAsync()
    {
        var db = await TestPostgres.CreateDatabaseAsync();
        var root = Path.Combine(Path.GetTempPath(), "pipelines-mlflow-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var app = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = db.DataSource, ArtifactRoot = root, Urls = ["http://127.0.0.1:0"], RequestLogging = false,
        });
        await app.StartAsync();
        var url = new Uri(PipelinesServer.Addresses(app).Single());
        return new TrackingServerHarness(db, app, url, root);
    }

    public MlflowClient Client(Func<MlflowClientOptions, MlflowClientOptions>? configure = null, HttpMessageHandler? handler = null)
    {
        var options = new MlflowClientOptions { TrackingUri = Url, InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero };
        if (configure is not null) options = configure(options);
        return new MlflowClient(options, handler is null ? null : new HttpClient(handler));
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Database.DisposeAsync();
        try { Directory.Delete(ArtifactRoot, recursive: true); } catch (IOException) { }
    }
}
