using Pipelines.Cli.Hosting;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Pipelines.Cli.Rendering;

/// <summary>Follows a run until it finishes: a live table on a terminal, one line per change otherwise.</summary>
public static class ProgressView
{
    public static async Task<RunDetails> FollowAsync(EngineContext engine, Guid runId, string user, bool autoApprove, CancellationToken ct)
    {
        var interactive = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        AnsiConsole.MarkupLine($"run [bold]{runId}[/]");
        var seen = new Dictionary<string, string>();
        var asked = new HashSet<string>();
        // Shown under the live table on every refresh, so a redraw never hides them.
        var notes = new List<IRenderable>();
        var frame = new LiveFrame();
        RunDetails details;
        while (true)
        {
            details = (await engine.Store.GetRunAsync(runId, ct))!;
            if (interactive) Render(details, notes, frame);
            else PrintChanges(details, seen);

            foreach (var approval in details.Approvals.Where(a => a.Decision is null && asked.Add(a.StepId)))
            {
                var (note, prompted) = await DecideAsync(engine, details, approval, user, autoApprove, interactive, ct);
                // The prompt and its answers were written below the frame: keep them, and draw the next frame under them.
                if (prompted) frame.Forget();
                if (note is null) continue;
                notes.Add(note);
                if (!interactive) WriteNote(note);
            }

            // A policy may decide before anyone is asked (the approval's auto_approve input): say so, with its reason.
            foreach (var approval in details.Approvals.Where(a => a.DecidedBy == Approvers.Policy && asked.Add(a.StepId)))
            {
                var note = Line($"approval [bold]{Markup.Escape(approval.StepId)}[/]: {approval.Decision} by policy — {Markup.Escape(approval.Comment ?? "")}");
                notes.Add(note);
                if (!interactive) WriteNote(note);
            }

            if (details.Run.State.IsTerminal()) break;
            await Task.Delay(interactive ? 200 : 100, ct);
        }
        if (interactive) Render(details, notes, frame);
        PrintArtifacts(details);
        var color = details.Run.State == RunState.Succeeded ? "green" : "red";
        AnsiConsole.MarkupLine($"run {runId} [{color}]{details.Run.State.Db()}[/]{(details.Run.Error is null ? "" : ": " + Markup.Escape(details.Run.Error))}");
        return details;
    }

    /// <returns>What to keep on screen, or null; and whether a prompt was written to the terminal.</returns>
    private static async Task<(IRenderable? Note, bool Prompted)> DecideAsync(EngineContext engine, RunDetails run, ApprovalView approval, string user, bool autoApprove,
        bool interactive, CancellationToken ct)
    {
        var runId = run.Run.Id;
        var commands = $"[bold]pipelines approve {runId} {approval.StepId}[/] or [bold]pipelines reject {runId} {approval.StepId}[/]";
        if (autoApprove)
        {
            await engine.Store.DecideAsync(runId, approval.StepId, ApprovalDecision.Approve, "auto-approve", "approved by --auto-approve", ct);
            return (Line($"approval [bold]{Markup.Escape(approval.StepId)}[/]: approved automatically (--auto-approve)"), false);
        }
        var summary = new Rows(Line($"approval [bold]{Markup.Escape(approval.StepId)}[/] is waiting:"), ApprovalSummaryView.Build(approval.Summary));
        if (approval.WhyNot(user, run.Run.CreatedBy) is { } reason)
            return (new Rows(summary, Line($"[yellow]{Markup.Escape(reason)}[/]: {commands} (with --user)")), false);
        if (!interactive || Console.IsInputRedirected)
            return (new Rows(summary, Line($"decide with {commands}")), false);

        WriteNote(summary);
        var approve = AnsiConsole.Confirm($"Approve '{approval.StepId}' as {user}?", defaultValue: false);
        var comment = AnsiConsole.Prompt(new TextPrompt<string>("Comment:").AllowEmpty());
        try
        {
            await engine.Store.DecideAsync(runId, approval.StepId, approve ? ApprovalDecision.Approve : ApprovalDecision.Reject, user, comment, ct);
            return (Line($"approval [bold]{Markup.Escape(approval.StepId)}[/]: {(approve ? "approved" : "rejected")} by {Markup.Escape(user)}"), true);
        }
        catch (Exception e) when (e is PolicyException or ConflictException)
        {
            return (Line($"[red]{Markup.Escape(e.Message)}[/]"), true);
        }
    }

    private static Markup Line(string markup) => new(markup);

    private static void WriteNote(IRenderable note)
    {
        AnsiConsole.Write(note);
        AnsiConsole.WriteLine();
    }

    /// <summary>Where the run's outputs are: every artifact reference among the steps' outputs.</summary>
    private static void PrintArtifacts(RunDetails details)
    {
        var lines = new List<string>();
        foreach (var s in details.Steps.Where(s => s.ItemIndex is null && s.Outputs is not null))
            foreach (var (name, value) in s.Outputs!)
                if (value is System.Text.Json.Nodes.JsonObject o && o["artifact"] is not null && o["uri"] is { } uri)
                    lines.Add($"  {s.StepId}.{name}: {uri}");
        if (lines.Count == 0) return;
        AnsiConsole.MarkupLine("artifacts:");
        foreach (var line in lines) Console.WriteLine(line);
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

    /// <summary>
    /// The live view's last drawing: the next one moves the cursor back up over it and erases from there down,
    /// instead of clearing the screen, which on most terminals also wipes the scrollback.
    /// </summary>
    private sealed class LiveFrame
    {
        private int _lines;

        /// <summary>Draws <paramref name="content"/> over the previous frame.</summary>
        public void Draw(IEnumerable<IRenderable> content)
        {
            var text = new StringWriter();
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.Yes,
                ColorSystem = AnsiConsole.Profile.Capabilities.ColorSystem switch
                {
                    ColorSystem.TrueColor => ColorSystemSupport.TrueColor,
                    ColorSystem.EightBit => ColorSystemSupport.EightBit,
                    ColorSystem.Standard => ColorSystemSupport.Standard,
                    ColorSystem.Legacy => ColorSystemSupport.Legacy,
                    _ => ColorSystemSupport.NoColors,
                },
                Out = new AnsiConsoleOutput(text),
            });
            console.Profile.Width = AnsiConsole.Profile.Width;
            foreach (var part in content) console.Write(part);
            var frame = text.ToString();
            // CSI n F: to the start of the line n lines up; CSI J: erase to the end of the screen.
            var up = _lines > 0 ? $"\u001b[{_lines}F\u001b[J" : "";
            Console.Out.Write(up + frame);
            Console.Out.Flush();
            _lines = frame.Count(c => c == '\n');
        }

        /// <summary>Something else was written below the frame; the next frame starts under it.</summary>
        public void Forget() => _lines = 0;
    }

    private static void Render(RunDetails details, IReadOnlyList<IRenderable> notes, LiveFrame frame)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("step", "state", "attempts", "duration");
        foreach (var s in details.Steps.Where(s => s.ItemIndex is null))
        {
            var duration = s.StartedAt is { } start ? ((s.FinalizedAt ?? DateTimeOffset.UtcNow) - start).TotalSeconds.ToString("0.0") + "s" : "";
            table.AddRow(Markup.Escape(s.StepId), $"[{Color(s)}]{Markup.Escape(Label(s))}[/]", s.Attempt.ToString(), duration);
        }
        var content = new List<IRenderable> { Line($"[bold]{Markup.Escape(details.Run.Workflow)}[/] run {details.Run.Id}: {details.Run.State.Db()}\n"), table };
        foreach (var note in notes)
        {
            content.Add(note);
            content.Add(Text.NewLine);
        }
        frame.Draw(content);
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
