using Microsoft.AspNetCore.Builder;
using Pipelines.Postgres.Local;
using Pipelines.Server;

namespace Pipelines.Cli.Hosting;

/// <summary>
/// On a single machine nobody has to run an MLflow server: when <c>MLFLOW_TRACKING_URI</c> is not set, the
/// process hosts the built-in MLflow-compatible endpoint on a free loopback port for as long as it runs, and
/// its activities track there (runs, metrics and the model registry land in the same PostgreSQL).
/// </summary>
public sealed class EmbeddedTracking : IAsyncDisposable
{
    private readonly WebApplication? _app;

    private EmbeddedTracking(WebApplication? app, string? uri)
    {
        _app = app;
        Uri = uri;
    }

    public string? Uri { get; }

    public static async Task<EmbeddedTracking> StartIfNotConfiguredAsync(EngineContext engine, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI")) || engine.TrackingUri is not null)
            return new EmbeddedTracking(null, null);
        var app = PipelinesServer.Build(new PipelinesServerOptions
        {
            DataSource = engine.DataSource,
            ArtifactRoot = Path.Combine(DatabaseLocator.StateDirectory(), "mlflow-artifacts"),
            Urls = ["http://127.0.0.1:0"],
            RequestLogging = false,
        });
        await app.StartAsync(ct);
        var uri = PipelinesServer.Addresses(app).First();
        engine.TrackingUri = uri;
        engine.TrackingIsBuiltIn = true;
        return new EmbeddedTracking(app, uri);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
