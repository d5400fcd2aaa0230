using System.CommandLine;
using Pipelines.Cli.Commands;
using Spectre.Console;

// Piped into a file or another program there is no terminal width; Spectre would assume 80 columns and cut ids
// in tables. Scripts need whole values.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 320;

var root = new RootCommand("Pipelines: scheduled, declarative, durable batch ML pipelines.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
