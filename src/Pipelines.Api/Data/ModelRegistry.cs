using Pipelines.Server;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Api.Data;

/// <summary>
/// The model registry behind <c>/api/v1/models</c>: MLflow at <see cref="ApiServerOptions.TrackingUri"/>, or the built-in
/// endpoint on the same database, hosted on a private loopback port on first use (as <c>pipelines run</c> does), so
/// promotions go through the same code (<see cref="PipelineTracking"/>) as the CLI's.
/// </summary>
public sealed class ModelRegistry(ApiServerOptions options) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MlflowClient? _client;
    private WebApplication? _embedded;

    public async Task<PipelineTracking> TrackingAsync(CancellationToken ct)
    {
        if (_client is not null) return new PipelineTracking(_client);
        await _gate.WaitAsync(ct);
        try
        {
            if (_client is null)
            {
                var uri = options.TrackingUri;
                if (uri is null)
                {
                    _embedded = PipelinesServer.Build(new PipelinesServerOptions
                    {
                        DataSource = options.DataSource,
                        ArtifactRoot = options.TrackingArtifactRoot,
                        Urls = ["http://127.0.0.1:0"],
                        RequestLogging = false,
                    });
                    await _embedded.StartAsync(ct);
                    uri = PipelinesServer.Addresses(_embedded).First();
                }
                _client = new MlflowClient(MlflowClientOptions.FromEnvironment(n => n == "MLFLOW_TRACKING_URI" ? uri : Environment.GetEnvironmentVariable(n)));
            }
            return new PipelineTracking(_client);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_embedded is not null)
        {
            await _embedded.StopAsync();
            await _embedded.DisposeAsync();
        }
        _gate.Dispose();
    }
}
