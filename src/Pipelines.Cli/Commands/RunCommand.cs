using System.CommandLine;
using Pipelines.Activities;
using Pipelines.Cli.Hosting;
using Pipelines.Cli.Rendering;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Workers;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines run FILE</c>: validates, submits and (by default) executes a workflow in this process with live progress.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Workflow YAML file." };
        var param = new Option<string[]>("--param", "-p") { Description = "Parameter as name=value (repeatable).", AllowMultipleArgumentsPerToken = false };
        var workers = new Option<int>("--workers") { Description = "In-process worker slots (0: other workers execute the steps while this process follows the run).", DefaultValueFactory = _ => 4 };
        var autoApprove = new Option<bool>("--auto-approve") { Description = "Approve every approval step automatically (recorded as such)." };
        var noWait = new Option<bool>("--no-wait") { Description = "Submit and exit; print the run id." };
        var db = CommonOptions.Database();
        var user = CommonOptions.User();
        var command = new Command("run", "Run a workflow: validate, submit, execute with live progress.") { file, param, workers, autoApprove, noWait, db, user };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            var path = parse.GetValue(file)!;
            // --auto-approve is applied by this process while it follows the run; a process that exits at once
            // would approve nothing, silently.
            if (parse.GetValue(noWait) && parse.GetValue(autoApprove))
                throw new SettingException("--auto-approve cannot be combined with --no-wait: approvals are decided by the process that follows the run; "
                    + "drop --no-wait (with --workers 0 other workers execute the steps), or decide later with 'pipelines approve RUN STEP'");
            if (!File.Exists(path)) throw new NotFoundException($"{path}: file not found");
            // Validate before touching a database: invalid input must not provision, start or write anything.
            var registry = BuiltinActivities.CreateRegistry();
            var definition = WorkflowValidator.Load(path, registry);
            var parameters = ParameterBinder.Bind(definition, ParseParams(parse.GetValue(param) ?? []));
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct, registry);
            if (parse.GetValue(noWait))
            {
                Console.WriteLine(await engine.Store.SubmitRunAsync(new SubmitRun(definition, parameters, parse.GetValue(user)!), ct));
                return ExitCodes.Ok;
            }
            var logs = new List<string>();
            await using var mlflow = await EmbeddedTracking.StartIfNotConfiguredAsync(engine, ct);
            var work = parse.GetValue(workers) > 0
                ? engine.HostedServices(new WorkerOptions { Concurrency = parse.GetValue(workers) }, LeaderService.DefaultInterval,
                    m => { lock (logs) logs.Add(m); })
                : default;
            if (work.Worker is not null)
            {
                await work.Worker.StartAsync(ct);
                await work.Leader.StartAsync(ct);
            }
            try
            {
                // Submitted only now that this process's worker is listening (StartAsync returns after LISTEN):
                // submitted earlier, the first step's wake-up could come before anyone listened, and the run would
                // wait for the next poll.
                var runId = await engine.Store.SubmitRunAsync(new SubmitRun(definition, parameters, parse.GetValue(user)!), ct);
                var final = await ProgressView.FollowAsync(engine, runId, parse.GetValue(user)!, parse.GetValue(autoApprove), ct);
                // Before this process (and the endpoint it may host) exits: the MLflow parent run ends with the run.
                // A tracking server that is down must not turn a finished run into an error: the leader retries later.
                try { await engine.CloseParentRunsAsync(ct); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Console.Error.WriteLine($"warning: could not end the MLflow parent run yet ({e.Message}); a worker's leader will");
                }
                return final.Run.State == RunState.Succeeded ? ExitCodes.Ok : ExitCodes.RunNotSucceeded;
            }
            finally
            {
                if (work.Worker is not null)
                {
                    await Task.WhenAll(work.Worker.StopAsync(CancellationToken.None), work.Leader.StopAsync(CancellationToken.None));
                    work.Worker.Dispose();
                    work.Leader.Dispose();
                }
            }
        }));
        return command;
    }

    internal static Dictionary<string, string> ParseParams(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0)
                throw new WorkflowValidationException([new ValidationError(SourceLocation.None("--param"), pair, "expected name=value")]);
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }
}
