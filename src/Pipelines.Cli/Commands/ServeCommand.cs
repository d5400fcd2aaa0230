using System.CommandLine;
using Pipelines.Cli.Hosting;
using Microsoft.Extensions.Hosting;
using Pipelines.Server;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines serve</c>: the Pipelines server with the built-in MLflow-compatible tracking endpoint.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Listen addresses, ';'-separated.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var artifacts = new Option<string?>("--artifacts") { Description = "Folder for tracked artifacts (default: PIPELINES_HOME/.pipelines/mlflow-artifacts)." };
        var db = CommonOptions.Database();
        var command = new Command("serve", "Run the server (MLflow-compatible tracking and model registry at /api/2.0/mlflow).") { urls, artifacts, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var home = Environment.GetEnvironmentVariable("PIPELINES_HOME") is { Length: > 0 } h ? h : Path.Combine(Environment.CurrentDirectory, ".pipelines");
            var root = parse.GetValue(artifacts) ?? Path.Combine(home, "mlflow-artifacts");
            Directory.CreateDirectory(root);
            await using var app = PipelinesServer.Build(new PipelinesServerOptions
            {
                DataSource = engine.DataSource,
                ArtifactRoot = root,
                Urls = parse.GetValue(urls)!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            });
            await app.StartAsync(ct);
            foreach (var a in PipelinesServer.Addresses(app)) Console.WriteLine($"MLflow tracking URI: {a}");
            Console.WriteLine($"artifacts in {root}");
            // Ctrl+C / SIGTERM stop the host (the generic host's console lifetime).
            await app.WaitForShutdownAsync(ct);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
