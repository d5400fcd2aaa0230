using System.CommandLine;

namespace Pipelines.Cli.Commands;

/// <summary>Every top-level command; one file per command under Commands/.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return ActivitiesCommand.Create();
        yield return DataCommand.Create();
    }
}
