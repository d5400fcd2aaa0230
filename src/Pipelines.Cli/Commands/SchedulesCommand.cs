using System.CommandLine;
using Pipelines.Cli.Hosting;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines schedules list|sync</c>.</summary>
public static class SchedulesCommand
{
    public static Command Create()
    {
        var command = new Command("schedules", "Workflow schedules.");
        var db = CommonOptions.Database();
        var list = new Command("list", "List schedules with their last and next fire times, and event triggers with what they started.") { db };
        list.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var table = new Table().AddColumns("workflow", "cron", "time zone", "catch-up", "max concurrent", "enabled", "last fire", "next fire");
            foreach (var s in await engine.Store.ListSchedulesAsync(ct))
                table.AddRow(Markup.Escape(s.Workflow), Markup.Escape(s.Cron), s.TimeZone, s.CatchUp, s.MaxConcurrentRuns.ToString(), s.Enabled ? "yes" : "no",
                    s.LastFireAt?.ToString("u") ?? "", s.NextFireAt?.ToString("u") ?? "");
            AnsiConsole.Write(table);
            // Event triggers (on:) are registered by the same sync, so they are listed here too.
            var triggers = await engine.Store.ListTriggersAsync(ct);
            if (triggers.Count > 0)
            {
                var t = new Table().AddColumns("workflow", "on", "source", "window", "enabled", "since", "events", "runs started", "last event", "last run");
                foreach (var x in triggers)
                    t.AddRow(Markup.Escape(x.Workflow), x.Kind, Markup.Escape(x.Source), x.Window is { } w ? Durations.Format(w) : "", x.Enabled ? "yes" : "no",
                        x.Since.ToString("u"), x.Events.ToString(), x.RunsStarted.ToString(), x.LastEventAt?.ToString("u") ?? "", x.LastRunId?.ToString() ?? "");
                AnsiConsole.Write(t);
            }
            return ExitCodes.Ok;
        }));
        command.Subcommands.Add(list);

        var paths = new Argument<string[]>("paths") { Description = "Workflow files, or folders (the .yaml files directly in them; subfolders are not searched)." };
        var db2 = CommonOptions.Database();
        var sync = new Command("sync", "Register the schedules and event triggers (on:) of these workflows (a workflow without a schedule disables its own; triggers it no longer declares are disabled).") { paths, db2 };
        sync.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            // Validate every file before touching a database: invalid input writes nothing.
            var registry = Pipelines.Activities.BuiltinActivities.CreateRegistry();
            var definitions = ExpandWorkflowFiles(parse.GetValue(paths) ?? []).Select(f => WorkflowValidator.Load(f, registry)).ToList();
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db2), ct, registry);
            await engine.Store.SyncAsync(definitions, ct);
            foreach (var d in definitions)
            {
                Console.WriteLine(d.Schedule is { } s ? $"{d.Name}: {s.Cron} ({s.TimeZone})" : $"{d.Name}: no schedule");
                foreach (var t in d.Triggers)
                    Console.WriteLine($"{d.Name}: on {t.KindName} {t.Source}" + (t.Window is { } w ? $", at most once per {Durations.Format(w)}" : ""));
            }
            return ExitCodes.Ok;
        }));
        command.Subcommands.Add(sync);
        return command;
    }

    /// <summary>
    /// Files as given; a folder stands for the workflows directly in it, not in its subfolders, so that
    /// <c>schedules sync workflows/</c> does not also schedule <c>workflows/examples/</c> (name those explicitly).
    /// </summary>
    public static IReadOnlyList<string> ExpandWorkflowFiles(IEnumerable<string> paths) =>
        paths.SelectMany<string, string>(p => Directory.Exists(p)
            ? Directory.EnumerateFiles(p, "*.yaml", SearchOption.TopDirectoryOnly).Order()
            : [p]).ToList();
}
