using System.CommandLine;

namespace Pipelines.Cli.Commands;

/// <summary>Every top-level command; one file per command under Commands/.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return RunCommand.Create();
        yield return WorkerCommand.Create();
        yield return RunsCommand.Create();
        yield return RunControlCommands.Decide(Pipelines.Engine.Model.ApprovalDecision.Approve);
        yield return RunControlCommands.Decide(Pipelines.Engine.Model.ApprovalDecision.Reject);
        yield return RunControlCommands.Cancel();
        yield return RunControlCommands.Retry();
        yield return SchedulesCommand.Create();
        yield return ModelsCommand.Create();
        yield return ActivitiesCommand.Create();
        yield return MigrateCommand.Create();
        yield return ValidateCommand.Create();
        yield return LocalCommand.Create();
        yield return DataCommand.Create();
        yield return ServeCommand.Create();
        yield return ArtifactsCommand.Create();
        yield return ServerCommand.Create();
        yield return KeysCommand.Create();
    }
}
