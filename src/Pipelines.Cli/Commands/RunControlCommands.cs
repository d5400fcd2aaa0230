using System.CommandLine;
using Pipelines.Cli.Hosting;
using Pipelines.Engine.Model;

namespace Pipelines.Cli.Commands;

/// <summary><c>approve</c>, <c>reject</c>, <c>cancel</c> and <c>retry</c>: the actions a person takes on a run.</summary>
public static class RunControlCommands
{
    public static Command Decide(ApprovalDecision decision)
    {
        var run = new Argument<string>("run");
        var step = new Argument<string>("step") { Description = "The approval step's id." };
        var comment = new Option<string?>("--comment", "-m") { Description = "Why." };
        var user = CommonOptions.User();
        var db = CommonOptions.Database();
        var name = decision == ApprovalDecision.Approve ? "approve" : "reject";
        var command = new Command(name, $"{char.ToUpperInvariant(name[0])}{name[1..]} a waiting approval step.") { run, step, comment, user, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var id = CommonOptions.ParseRunId(parse.GetValue(run)!);
            await engine.Store.DecideAsync(id, parse.GetValue(step)!, decision, parse.GetValue(user)!, parse.GetValue(comment), ct);
            Console.WriteLine($"{parse.GetValue(step)} of run {id}: {(decision == ApprovalDecision.Approve ? "approved" : "rejected")} by {parse.GetValue(user)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Cancel()
    {
        var run = new Argument<string>("run");
        var user = CommonOptions.User();
        var db = CommonOptions.Database();
        var command = new Command("cancel", "Cancel a run; running steps are stopped.") { run, user, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var id = CommonOptions.ParseRunId(parse.GetValue(run)!);
            await engine.Store.CancelRunAsync(id, parse.GetValue(user)!, ct);
            Console.WriteLine($"run {id}: cancel requested");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Retry()
    {
        var run = new Argument<string>("run");
        var user = CommonOptions.User();
        var db = CommonOptions.Database();
        var command = new Command("retry", "Re-run a failed, cancelled or stopped run from its unsuccessful steps.") { run, user, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var id = CommonOptions.ParseRunId(parse.GetValue(run)!);
            await engine.Store.RetryRunAsync(id, parse.GetValue(user)!, ct);
            Console.WriteLine($"run {id}: retrying from its unsuccessful steps (workers will pick it up)");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
