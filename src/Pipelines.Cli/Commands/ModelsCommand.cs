using System.CommandLine;
using Pipelines.Cli.Hosting;
using Pipelines.Postgres.Local;
using Pipelines.Server;
using Pipelines.Server.Tracking;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines models list|show|promote|rollback|alias</c>: the registry's models and champion, by alias, from the command line.</summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "Registered models: list them, show aliases, promote a version, roll the champion back.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Promote());
        command.Subcommands.Add(Rollback());
        command.Subcommands.Add(Alias());
        return command;
    }

    private static Command List()
    {
        var db = CommonOptions.Database();
        var command = new Command("list", "List registered models: versions, latest version, aliases and the last change.") { db };
        command.SetAction((parse, ct) => WithTrackingAsync(parse.GetValue(db), ct, async tracking =>
        {
            var models = new List<RegisteredModel>();
            string? token = null;
            do
            {
                var page = await tracking.Client.SearchRegisteredModelsAsync(orderBy: ["name ASC"], pageToken: token, ct: ct);
                models.AddRange(page.Items);
                token = page.NextPageToken;
            } while (token is not null);
            if (models.Count == 0)
            {
                Console.WriteLine("no registered models yet (a workflow's promote step registers one)");
                return ExitCodes.Ok;
            }
            var table = new Table().AddColumns("model", "versions", "latest", "aliases", "last change");
            foreach (var m in models)
            {
                var versions = new List<ModelVersion>();
                token = null;
                do
                {
                    var page = await tracking.Client.SearchModelVersionsAsync($"name = '{m.Name.Replace("'", "\\'")}'", pageToken: token, ct: ct);
                    versions.AddRange(page.Items);
                    token = page.NextPageToken;
                } while (token is not null);
                var latest = versions.Select(v => int.TryParse(v.Version, out var n) ? n : 0).DefaultIfEmpty().Max();
                var aliases = string.Join(", ", (m.Aliases ?? []).OrderBy(a => a.Alias, StringComparer.Ordinal).Select(a => $"{a.Alias}=v{a.Version}"));
                // Promotions and rollbacks record themselves on the model; otherwise the registry's own timestamp.
                var lastChange = m.Tags?.FirstOrDefault(t => t.Key == "pipelines.last_change")?.Value
                                 ?? (m.LastUpdatedTimestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("u") : "");
                table.AddRow(Markup.Escape(m.Name), versions.Count.ToString(), latest == 0 ? "" : latest.ToString(), Markup.Escape(aliases), Markup.Escape(lastChange));
            }
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var name = new Argument<string>("model");
        var db = CommonOptions.Database();
        var command = new Command("show", "Show a registered model's aliases.") { name, db };
        command.SetAction((parse, ct) => BuiltInRegistry
            // A read of the built-in registry needs no endpoint: the tracking store behind it answers from the same
            // database, without building a web application in this process and calling it.
            ? WithBuiltInStoreAsync(parse.GetValue(db), ct, async store => Print(await store.GetRegisteredModelAsync(parse.GetValue(name)!, ct)))
            : WithTrackingAsync(parse.GetValue(db), ct, async tracking => Print(await tracking.Client.GetRegisteredModelAsync(parse.GetValue(name)!, ct))));
        return command;

        static int Print(RegisteredModel model)
        {
            Console.WriteLine(model.Name);
            foreach (var alias in model.Aliases ?? []) Console.WriteLine($"  {alias.Alias}: version {alias.Version}");
            return ExitCodes.Ok;
        }
    }

    private static Command Promote()
    {
        var name = new Argument<string>("model");
        var version = new Argument<string>("version");
        var reason = new Option<string>("--reason", "-m") { Description = "Why (recorded on the version).", DefaultValueFactory = _ => "promoted by hand" };
        var user = CommonOptions.User();
        var db = CommonOptions.Database();
        var command = new Command("promote", "Make a version the champion; the former champion becomes previous-champion.") { name, version, reason, user, db };
        command.SetAction((parse, ct) => WithTrackingAsync(parse.GetValue(db), ct, async tracking =>
        {
            var r = await tracking.PromoteAsync(parse.GetValue(name)!, parse.GetValue(version)!, parse.GetValue(user)!, parse.GetValue(reason)!, ct);
            Console.WriteLine($"{r.Model}: champion is version {r.Champion}{(r.PreviousChampion is null ? "" : $", previous-champion version {r.PreviousChampion}")} (by {r.By})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Rollback()
    {
        var name = new Argument<string>("model");
        var reason = new Option<string>("--reason", "-m") { Description = "Why (recorded on the version).", DefaultValueFactory = _ => "rollback" };
        var user = CommonOptions.User();
        var db = CommonOptions.Database();
        var command = new Command("rollback", "Point champion back at previous-champion.") { name, reason, user, db };
        command.SetAction((parse, ct) => WithTrackingAsync(parse.GetValue(db), ct, async tracking =>
        {
            var r = await tracking.RollbackAsync(parse.GetValue(name)!, parse.GetValue(user)!, parse.GetValue(reason)!, ct);
            Console.WriteLine($"{r.Model}: champion is version {r.Champion} again (rolled back by {r.By})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Sets or removes another alias, e.g. <c>challenger</c> for a version to shadow the champion. The champion's own
    /// aliases move only by promote and rollback, which keep <c>previous-champion</c> and the record of who and why.
    /// </summary>
    private static Command Alias()
    {
        var name = new Argument<string>("model");
        var alias = new Argument<string>("alias");
        var version = new Argument<string?>("version") { Description = "The version it names (omit with --delete).", Arity = ArgumentArity.ZeroOrOne };
        var delete = new Option<bool>("--delete") { Description = "Remove the alias." };
        var db = CommonOptions.Database();
        var command = new Command("alias", "Point an alias such as challenger at a version (champion moves only by promote and rollback).") { name, alias, version, delete, db };
        command.SetAction((parse, ct) =>
        {
            var (m, a, v, remove) = (parse.GetValue(name)!, parse.GetValue(alias)!, parse.GetValue(version), parse.GetValue(delete));
            if (a is PipelineTracking.Champion or PipelineTracking.PreviousChampion)
            {
                Console.Error.WriteLine($"error: '{a}' moves only by 'pipelines models promote' and 'rollback', which keep the previous champion and record who and why");
                return Task.FromResult(ExitCodes.InvalidInput);
            }
            if (remove == (v is not null))
            {
                Console.Error.WriteLine("error: give a version, or --delete to remove the alias");
                return Task.FromResult(ExitCodes.InvalidInput);
            }
            return WithTrackingAsync(parse.GetValue(db), ct, async tracking =>
            {
                if (remove) await tracking.Client.DeleteAliasAsync(m, a, ct);
                else
                {
                    await tracking.Client.GetModelVersionAsync(m, v!, ct); // an unknown version fails here, named by the server
                    await tracking.Client.SetAliasAsync(m, a, v!, ct);
                }
                Console.WriteLine(remove ? $"{m}: alias '{a}' removed" : $"{m}: {a} is version {v}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>True when MLFLOW_TRACKING_URI is not set: the registry is the built-in one, in the engine's database.</summary>
    private static bool BuiltInRegistry => string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI"));

    /// <summary>
    /// Runs against MLFLOW_TRACKING_URI, or the built-in endpoint on the engine's database, reached in process (no
    /// port is opened; see <see cref="InProcessEndpoint"/>).
    /// </summary>
    private static Task<int> WithTrackingAsync(string? db, CancellationToken ct, Func<PipelineTracking, Task<int>> action) =>
        RegistryGuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(db, ct);
            if (!BuiltInRegistry)
            {
                using var client = new MlflowClient(MlflowClientOptions.FromEnvironment(Environment.GetEnvironmentVariable));
                return await action(new PipelineTracking(client));
            }
            await using var endpoint = new InProcessEndpoint(new PipelinesServerOptions
            {
                DataSource = engine.DataSource,
                ArtifactRoot = Path.Combine(DatabaseLocator.StateDirectory(), "mlflow-artifacts"),
            });
            using var builtIn = new MlflowClient(new MlflowClientOptions { TrackingUri = InProcessEndpoint.Address },
                new HttpClient(endpoint.Handler, disposeHandler: false));
            return await action(new PipelineTracking(builtIn));
        });

    /// <summary>Reads the built-in registry straight from its tracking store (the code behind the endpoint).</summary>
    private static Task<int> WithBuiltInStoreAsync(string? db, CancellationToken ct, Func<TrackingStore, Task<int>> action) =>
        RegistryGuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenForReadingAsync(db, ct);
            return await action(new TrackingStore(engine.DataSource));
        });

    private static Task<int> RegistryGuardAsync(Func<Task<int>> body) =>
        CommonOptions.GuardAsync(async () =>
        {
            try
            {
                return await body();
            }
            catch (MlflowException e)
            {
                // MLflow's own code and message, verbatim, and which server said it (none named: the built-in one).
                var server = e.Server is { } s && !s.Contains(InProcessEndpoint.Address.Host, StringComparison.OrdinalIgnoreCase) ? $" at {s}" : "";
                Console.Error.WriteLine($"error: MLflow{server} answered {e.ErrorCode}: {e.Message}");
                return e.ErrorCode is "RESOURCE_DOES_NOT_EXIST" ? ExitCodes.NotFound
                    : (int)e.StatusCode is 429 or >= 500 ? ExitCodes.Unavailable : ExitCodes.Conflict;
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Unavailable;
            }
            catch (InvalidOperationException e)
            {
                // e.g. nothing to roll back to: the registry's state does not allow the action.
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Conflict;
            }
        });
}
