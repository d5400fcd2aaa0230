using System.CommandLine;
using Pipelines.Cli.Commands;
using Spectre.Console;

// Piped into a file or another program there is no terminal width; Spectre would assume 80 columns, cut ids in
// tables and break long messages mid-value. Scripts and logs need whole values on one line.
// Escape codes would only litter those files.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 10_000;
    AnsiConsole.Profile.Capabilities.Ansi = false;
}

var root = new RootCommand("Pipelines: scheduled, declarative, durable batch ML pipelines.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
