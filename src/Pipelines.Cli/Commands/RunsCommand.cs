using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Cli.Hosting;
using Pipelines.Cli.Rendering;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines runs list|show</c>.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var command = new Command("runs", "Inspect runs.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        return command;
    }

    private static Command List()
    {
        var workflow = new Option<string?>("--workflow") { Description = "Only runs of this workflow." };
        var state = new Option<string?>("--state") { Description = "Only runs in this state (queued, running, succeeded, failed, cancelled, stopped)." };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 20 };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only run ids, newest first (for scripts)." };
        var db = CommonOptions.Database();
        var command = new Command("list", "List recent runs.") { workflow, state, limit, quiet, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            RunState? filter = null;
            if (parse.GetValue(state) is { } s)
            {
                if (!Enum.TryParse<RunState>(s, true, out var parsed)) throw new Pipelines.Core.Validation.WorkflowValidationException(
                    [new(Pipelines.Core.Definitions.SourceLocation.None("--state"), s, "unknown run state")]);
                filter = parsed;
            }
            await using var engine = await EngineContext.OpenForReadingAsync(parse.GetValue(db), ct);
            var runs = await engine.Store.ListRunsAsync(new RunFilter(parse.GetValue(workflow), filter, parse.GetValue(limit)), ct);
            StartupTrace.Mark("runs queried");
            if (parse.GetValue(quiet))
            {
                foreach (var r in runs) Console.WriteLine(r.Id);
                return ExitCodes.Ok;
            }
            var table = new Table().AddColumns("run", "workflow", "state", "trigger", "by", "created", "steps");
            foreach (var r in runs)
                table.AddRow(r.Id.ToString(), Markup.Escape(r.Workflow), r.State.Db(), r.Trigger, Markup.Escape(r.CreatedBy),
                    r.CreatedAt.ToString("u"), string.Join(" ", r.StepCounts.Select(c => $"{c.Key.Db()}:{c.Value}")));
            AnsiConsole.Write(table);
            StartupTrace.Mark("table written");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var run = new Argument<string>("run");
        var json = new Option<bool>("--json") { Description = "Print the run, its steps, attempts and approvals as JSON." };
        var results = new Option<bool>("--results") { Description = "Print what the run produced: best trial and baseline, holdout metrics against the champion, gate, approvals, promotion, reports, rows scored." };
        var db = CommonOptions.Database();
        var command = new Command("show", "Show a run: steps, attempts (worker, times, errors, logs) and approvals.") { run, json, results, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenForReadingAsync(parse.GetValue(db), ct);
            var id = CommonOptions.ParseRunId(parse.GetValue(run)!);
            var details = await engine.Store.GetRunAsync(id, ct) ?? throw new NotFoundException($"run {id} not found");
            StartupTrace.Mark("run queried");
            if (parse.GetValue(results))
            {
                foreach (var line in RunResults.Lines(details)) Console.WriteLine(line);
                return ExitCodes.Ok;
            }
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(details, new JsonSerializerOptions { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } }));
                return ExitCodes.Ok;
            }
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(details.Run.Workflow)}[/] run {details.Run.Id}: [bold]{details.Run.State.Db()}[/]" +
                                   (details.Run.Error is null ? "" : $" — {Markup.Escape(details.Run.Error)}"));
            AnsiConsole.MarkupLine($"by {Markup.Escape(details.Run.CreatedBy)} ({details.Run.Trigger}), created {details.Run.CreatedAt:u}, params {Markup.Escape(details.Params.ToJsonString())}");
            if (details.TriggeredBy is { } trigger) AnsiConsole.MarkupLine($"triggered by {Markup.Escape(trigger.Describe())}");
            if (Pipelines.Engine.Orchestration.RunTimeline.Of(details) is { } time) AnsiConsole.MarkupLine($"time: {Markup.Escape(time.Describe())}");
            var tree = new Tree("steps");
            foreach (var s in details.Steps.Where(s => s.ItemIndex is null))
            {
                var node = tree.AddNode($"{Markup.Escape(s.StepId)} [grey]({Markup.Escape(s.Kind)})[/]: {Markup.Escape(ProgressView.Label(s))}");
                AddAttempts(node, s);
                foreach (var child in details.Steps.Where(c => c.ItemIndex is not null && c.StepId == s.StepId))
                    AddAttempts(node.AddNode($"item {child.ItemIndex}: {Markup.Escape(ProgressView.Label(child))}"), child);
            }
            AnsiConsole.Write(tree);
            foreach (var a in details.Approvals)
                AnsiConsole.MarkupLine($"approval {Markup.Escape(a.StepId)}: {a.Decision ?? "waiting"}" +
                                       (a.DecidedBy is null ? "" : $" by {Markup.Escape(a.DecidedBy)} at {a.DecidedAt:u}") +
                                       (string.IsNullOrEmpty(a.Comment) ? "" : $" — {Markup.Escape(a.Comment)}"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void AddAttempts(TreeNode node, StepRunView s)
    {
        foreach (var a in s.Attempts)
        {
            var line = $"attempt {a.Attempt} on {a.WorkerId}: {a.State.Db()} {a.StartedAt:HH:mm:ss.fff}–{a.EndedAt:HH:mm:ss.fff}" + (a.Error is null ? "" : $" {a.Error}");
            var attempt = node.AddNode($"[grey]{Markup.Escape(line)}[/]");
            foreach (var logLine in a.Logs.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(20))
                attempt.AddNode(Markup.Escape(logLine));
        }
    }
}
