using System.CommandLine;
using Pipelines.Cli.Hosting;
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
        command.SetAction((parse, ct) => WithTrackingAsync(parse.GetValue(db), ct, async tracking =>
        {
            var model = await tracking.Client.GetRegisteredModelAsync(parse.GetValue(name)!, ct);
            Console.WriteLine(model.Name);
            foreach (var alias in model.Aliases ?? []) Console.WriteLine($"  {alias.Alias}: version {alias.Version}");
            return ExitCodes.Ok;
        }));
        return command;
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

    /// <summary>Runs against MLFLOW_TRACKING_URI, or the built-in endpoint hosted for the duration of the command.</summary>
    private static Task<int> WithTrackingAsync(string? db, CancellationToken ct, Func<PipelineTracking, Task<int>> action) =>
        CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(db, ct);
            await using var embedded = await EmbeddedTracking.StartIfNotConfiguredAsync(engine, ct);
            var uri = embedded.Uri ?? Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI")!;
            var options = MlflowClientOptions.FromEnvironment(n => n == "MLFLOW_TRACKING_URI" ? uri : Environment.GetEnvironmentVariable(n));
            using var client = new MlflowClient(options);
            try
            {
                return await action(new PipelineTracking(client));
            }
            catch (MlflowException e)
            {
                // MLflow's own code and message, verbatim, and which server said it.
                Console.Error.WriteLine($"error: MLflow{(e.Server is { } server ? $" at {server}" : "")} answered {e.ErrorCode}: {e.Message}");
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
