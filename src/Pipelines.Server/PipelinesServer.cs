using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pipelines.Server.Artifacts;
using Pipelines.Server.Tracking;

namespace Pipelines.Server;

public sealed record PipelinesServerOptions
{
    public required NpgsqlDataSource DataSource { get; init; }
    /// <summary>Folder holding the artifacts served through <c>/api/2.0/mlflow-artifacts</c>.</summary>
    public required string ArtifactRoot { get; init; }
    /// <summary>Listen addresses; port 0 picks a free port (read the bound ones from <see cref="PipelinesServer.Addresses"/>).</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:5000"];
    public bool RequestLogging { get; init; } = true;
    public TimeProvider? Time { get; init; }
}

/// <summary>The Pipelines server: today the built-in MLflow-compatible tracking and registry endpoint.</summary>
public static class PipelinesServer
{
    public static WebApplication Build(PipelinesServerOptions options) => Build(options, null);

    /// <param name="options">What to serve.</param>
    /// <param name="services">Replaces registrations before the app is built (e.g. the server: see <see cref="InProcessEndpoint"/>).</param>
    internal static WebApplication Build(PipelinesServerOptions options, Action<IServiceCollection>? services)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        if (!options.RequestLogging) builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Artifacts are streamed to disk, so large uploads are allowed; JSON endpoints cap their own bodies.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        if (options.Urls.Count > 0) builder.WebHost.UseUrls([.. options.Urls]);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapMlflow(new TrackingStore(options.DataSource, options.Time), new LocalArtifactFiles(options.ArtifactRoot));
        return app;
    }

    /// <summary>The addresses the started server listens on.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
