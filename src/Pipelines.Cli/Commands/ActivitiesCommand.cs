using System.CommandLine;
using Pipelines.Activities;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines activities</c>: what kinds a workflow can use, with their inputs and outputs.</summary>
public static class ActivitiesCommand
{
    public static Command Create()
    {
        var command = new Command("activities", "List the registered activities with their inputs and outputs.");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("kind", "version", "inputs", "outputs", "description");
            foreach (var d in BuiltinActivities.CreateRegistry().All.OrderBy(d => d.Kind))
            {
                var required = d.RequiredInputs.ToHashSet();
                string Names(System.Text.Json.Nodes.JsonObject schema, bool markRequired) =>
                    string.Join(", ", (schema["properties"] as System.Text.Json.Nodes.JsonObject ?? new()).Select(p =>
                        $"{p.Key}{(markRequired && required.Contains(p.Key) ? "*" : "")}: {p.Value?["type"] ?? "any"}"));
                table.AddRow(Markup.Escape(d.Kind), d.Version, Markup.Escape(Names(d.InputSchema, true)),
                    Markup.Escape(Names(d.OutputSchema, false)), Markup.Escape(d.Description));
            }
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }
}
