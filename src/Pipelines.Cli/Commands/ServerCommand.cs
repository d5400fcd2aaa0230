using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipelines.Api.Hosting;
using Pipelines.Cli.Hosting;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Workers;

namespace Pipelines.Cli.Commands;

/// <summary>
/// <c>pipelines server</c>: the HTTP API, the MLflow-compatible endpoint and the web UI in one process, with
/// optional in-process workers. Authentication comes from the environment (secrets never on the command line).
/// </summary>
public static class ServerCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Listen addresses, ';'-separated.", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var local = new Option<bool>("--local") { Description = "Demo mode: no login, every request is the local admin. Only on loopback addresses." };
        var workers = new Option<int>("--workers") { Description = "In-process worker slots (0: none; run `pipelines worker` processes).", DefaultValueFactory = _ => 0 };
        var workflows = new Option<string[]>("--workflows") { Description = "Workflow files or folders imported at start when absent (and their schedules registered)." };
        var artifacts = new Option<string?>("--artifacts") { Description = "Folder for MLflow-tracked artifacts (default: the state folder's mlflow-artifacts)." };
        var webRoot = new Option<string?>("--web-root") { Description = "Folder of the web UI's static files (default: wwwroot next to the server)." };
        var executor = ExecutorSettings.ExecutorOption();
        var hangfireQueues = ExecutorSettings.HangfireQueueOption();
        var dashboard = new Option<bool>("--hangfire-dashboard")
        {
            Description = "Mount the Hangfire Dashboard at /hangfire (admins only); implied by --executor hangfire.",
        };
        var db = CommonOptions.Database();
        var command = new Command("server", "Run the Pipelines server: HTTP API (/api/v1), MLflow endpoint, web UI.")
            { urls, local, workers, workflows, artifacts, webRoot, executor, hangfireQueues, dashboard, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            var urlList = parse.GetValue(urls)!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parse.GetValue(local))
            {
                try { ApiServer.RequireLoopback(urlList); }
                catch (LocalModeException e) { throw new SettingException(e.Message); }
            }
            var executorSettings = ExecutorSettings.Parse(parse.GetValue(executor)!, parse.GetValue(hangfireQueues), new WorkerOptions().Queues);
            var auth = ServerSettings.Auth(Environment.GetEnvironmentVariable);
            if (!parse.GetValue(local) && !auth.JwtConfigured)
                Console.Error.WriteLine("note: no PIPELINES_OIDC_AUTHORITY or PIPELINES_JWT_SIGNING_KEY: callers authenticate with API keys (`pipelines keys create`)");
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            // Runs submitted here record this process's tracking server: a refused MLFLOW_TRACKING_URI stops it now.
            EngineContext.SubmissionTrackingServer();
            var trackingRoot = parse.GetValue(artifacts) ?? Path.Combine(Pipelines.Postgres.Local.DatabaseLocator.StateDirectory(), "mlflow-artifacts");
            Directory.CreateDirectory(trackingRoot);
            // In-process workers (--workers N) run as hosted services of the web host: started with it (after the
            // workflow import below), stopped with it, draining their steps before the host finishes stopping.
            var slots = parse.GetValue(workers);
            await using var mlflow = slots > 0 ? await EmbeddedTracking.StartIfNotConfiguredAsync(engine, ct) : null;
            List<ApiExtension> extensions = executorSettings.IsHangfire || parse.GetValue(dashboard) ? [executorSettings.Dashboard(engine)] : [];
            if (slots > 0)
                extensions.Add(new ApiExtension(services =>
                {
                    // Worker and leader candidate are hosted services of their own, started and stopped with the web host.
                    var (worker, leader) = engine.HostedServices(new WorkerOptions { Concurrency = slots }, LeaderService.DefaultInterval,
                        m => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {m}"), executorSettings);
                    services.AddSingleton<IHostedService>(worker);
                    services.AddSingleton<IHostedService>(leader);
                }, _ => { }));
            await using var app = ApiServer.Build(new ApiServerOptions
            {
                DataSource = engine.DataSource,
                Registry = engine.Registry,
                Store = engine.Store,
                ArtifactRegistry = engine.ArtifactRegistry,
                SchemaVersion = Pipelines.Postgres.Migrations.Migrator.NewestVersion,
                TrackingArtifactRoot = trackingRoot,
                Artifacts = engine.Artifacts,
                Urls = urlList,
                Local = parse.GetValue(local),
                Auth = auth,
                WebRoot = parse.GetValue(webRoot),
                Webhooks = ServerSettings.Webhooks(Environment.GetEnvironmentVariable),
                TrackingUri = Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI") is { Length: > 0 } t ? t : null,
                OtlpEndpoint = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"),
                Extensions = extensions,
            });
            var files = SchedulesCommand.ExpandWorkflowFiles(parse.GetValue(workflows) ?? []);
            if (files.Count > 0)
            {
                var imported = await WorkflowImport.ImportAsync(app, files, ct);
                Console.WriteLine($"workflows: {imported.Count} imported ({string.Join(", ", imported)}), {files.Count - imported.Count} already present");
            }
            await ApiServer.StartAsync(app, ct);
            if (executorSettings.IsHangfire || parse.GetValue(dashboard))
                Console.WriteLine($"Hangfire Dashboard at {Pipelines.Executors.Hangfire.HangfireDashboard.Path}/ (admins only)");
            foreach (var a in ApiServer.Addresses(app)) Console.WriteLine($"Pipelines server listening on {a}{(parse.GetValue(local) ? " (local mode: you are the local admin)" : "")}");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            try { await Task.Delay(Timeout.Infinite, stop.Token); }
            catch (OperationCanceledException) { }
            // Stops the workers' hosted service too: it returns once they have drained.
            await app.StopAsync(CancellationToken.None);
            return ExitCodes.Ok;
        }));
        return command;
    }
}

/// <summary>Server settings from the environment (so that secrets stay out of process listings and shell history).</summary>
public static class ServerSettings
{
    public static AuthSettings Auth(Func<string, string?> env)
    {
        static string? Get(Func<string, string?> env, string name) => env(name) is { Length: > 0 } v ? v : null;
        return new AuthSettings
        {
            Authority = Get(env, "PIPELINES_OIDC_AUTHORITY"),
            Audience = Get(env, "PIPELINES_OIDC_AUDIENCE"),
            SigningKey = Get(env, "PIPELINES_JWT_SIGNING_KEY"),
            Issuer = Get(env, "PIPELINES_JWT_ISSUER"),
            RoleClaim = Get(env, "PIPELINES_ROLE_CLAIM") ?? "roles",
            GroupClaim = Get(env, "PIPELINES_GROUP_CLAIM") ?? "groups",
            GroupRoles = ParseGroupRoles(Get(env, "PIPELINES_GROUP_ROLES")),
            SecureCookies = Get(env, "PIPELINES_SECURE_COOKIES") is "1" or "true",
        };
    }

    /// <summary><c>group=role[,role];group2=role</c> → map; an unknown role is an error naming the variable.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ParseGroupRoles(string? text)
    {
        var map = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text)) return map;
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = entry.LastIndexOf('=');
            if (eq <= 0) throw new SettingException($"PIPELINES_GROUP_ROLES: '{entry}' is not group=role[,role]");
            var roles = entry[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var r in roles)
                if (!Pipelines.Api.Domain.Roles.TryParse(r, out _))
                    throw new SettingException($"PIPELINES_GROUP_ROLES: unknown role '{r}' for group '{entry[..eq]}' (expected {string.Join(", ", Pipelines.Api.Domain.Roles.All)})");
            map[entry[..eq].Trim()] = roles;
        }
        return map;
    }

    /// <summary><c>PIPELINES_WEBHOOKS</c>: a JSON array of {url, secret, events?, workflow?}.</summary>
    public static IReadOnlyList<WebhookSettings> Webhooks(Func<string, string?> env)
    {
        var text = env("PIPELINES_WEBHOOKS");
        if (string.IsNullOrWhiteSpace(text)) return [];
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<List<WebhookSettings>>(text, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))
                ?? [];
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new SettingException($"PIPELINES_WEBHOOKS: expected a JSON array of {{url, secret, events?, workflow?}} ({e.Path}: {e.Message.Split('.')[0]})");
        }
    }
}
