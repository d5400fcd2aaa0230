using Pipelines.Cli.Hosting;
using Pipelines.Engine.Model;
using Spectre.Console;

namespace Pipelines.Cli.Rendering;

/// <summary>Follows a run until it finishes: a live table on a terminal, one line per change otherwise.</summary>
public static class ProgressView
{
    public static async Task<RunDetails> FollowAsync(EngineContext engine, Guid runId, bool autoApprove, CancellationToken ct)
    {
        var interactive = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        AnsiConsole.MarkupLine($"run [bold]{runId}[/]");
        var seen = new Dictionary<string, string>();
        var asked = new HashSet<string>();
        RunDetails details;
        while (true)
        {
            details = (await engine.Store.GetRunAsync(runId, ct))!;
            if (interactive) Render(details);
            else PrintChanges(details, seen);

            foreach (var approval in details.Approvals.Where(a => a.Decision is null && asked.Add(a.StepId)))
                await DecideAsync(engine, runId, approval, autoApprove, interactive, ct);

            if (details.Run.State.IsTerminal()) break;
            await Task.Delay(interactive ? 200 : 100, ct);
        }
        var color = details.Run.State == RunState.Succeeded ? "green" : "red";
        AnsiConsole.MarkupLine($"run {runId} [{color}]{details.Run.State.Db()}[/]{(details.Run.Error is null ? "" : ": " + Markup.Escape(details.Run.Error))}");
        return details;
    }

    private static async Task DecideAsync(EngineContext engine, Guid runId, ApprovalView approval, bool autoApprove, bool interactive, CancellationToken ct)
    {
        if (autoApprove)
        {
            await engine.Store.DecideAsync(runId, approval.StepId, ApprovalDecision.Approve, "auto-approve", "approved by --auto-approve", ct);
            AnsiConsole.MarkupLine($"approval [bold]{approval.StepId}[/]: approved automatically (--auto-approve)");
            return;
        }
        AnsiConsole.MarkupLine($"approval [bold]{approval.StepId}[/] is waiting. Summary: {Markup.Escape(approval.Summary?.ToJsonString() ?? "(none)")}");
        if (!interactive || Console.IsInputRedirected)
        {
            AnsiConsole.MarkupLine($"decide with: [bold]pipelines approve {runId} {approval.StepId}[/] or [bold]pipelines reject {runId} {approval.StepId}[/]");
            return;
        }
        var approve = AnsiConsole.Confirm($"Approve '{approval.StepId}'?", defaultValue: false);
        var comment = AnsiConsole.Prompt(new TextPrompt<string>("Comment:").AllowEmpty());
        var user = Environment.GetEnvironmentVariable("PIPELINES_USER") is { Length: > 0 } u ? u : Environment.UserName;
        try
        {
            await engine.Store.DecideAsync(runId, approval.StepId, approve ? ApprovalDecision.Approve : ApprovalDecision.Reject, user, comment, ct);
        }
        catch (Exception e) when (e is Pipelines.Engine.Storage.PolicyException or Pipelines.Engine.Storage.ConflictException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
        }
    }

    private static void PrintChanges(RunDetails details, Dictionary<string, string> seen)
    {
        foreach (var s in details.Steps.Where(s => s.ItemIndex is null))
        {
            var label = Label(s);
            if (seen.TryGetValue(s.StepId, out var before) && before == label) continue;
            seen[s.StepId] = label;
            Console.WriteLine($"  {s.StepId,-24} {label}");
        }
    }

    public static string Label(StepRunView s)
    {
        var state = s.Cached ? "cached" : s.State.Db();
        if (s.ChildrenTotal is { } total) state += $" ({total - (s.ChildrenOpen ?? 0)}/{total} items)";
        if (s.Attempt > 1) state += $" attempt {s.Attempt}";
        if (s.Error is not null && s.State != StepState.Succeeded) state += $": {s.Error}";
        return state;
    }

    private static void Render(RunDetails details)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("step", "state", "attempts", "duration");
        foreach (var s in details.Steps.Where(s => s.ItemIndex is null))
        {
            var duration = s.StartedAt is { } start ? ((s.FinalizedAt ?? DateTimeOffset.UtcNow) - start).TotalSeconds.ToString("0.0") + "s" : "";
            table.AddRow(Markup.Escape(s.StepId), $"[{Color(s)}]{Markup.Escape(Label(s))}[/]", s.Attempt.ToString(), duration);
        }
        AnsiConsole.Clear();
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(details.Run.Workflow)}[/] run {details.Run.Id}: {details.Run.State.Db()}");
        AnsiConsole.Write(table);
    }

    private static string Color(StepRunView s) => s.State switch
    {
        StepState.Succeeded => "green",
        StepState.Failed => "red",
        StepState.Stopped => "yellow",
        StepState.Running => "blue",
        StepState.Waiting => "magenta",
        _ => "grey",
    };
}
