using System.CommandLine;
using Pipelines.Cli.Commands;
using Pipelines.Cli.Hosting;
using Spectre.Console;

// PIPELINES_TRACE_STARTUP=1 prints when each phase of a command ended (docs/benchmarks.md, CLI start-up).
StartupTrace.Mark("main");

// Piped into a file or another program there is no terminal width; Spectre would assume 80 columns, cut ids in
// tables and break long messages mid-value. Scripts and logs need whole values on one line.
// Escape codes would only litter those files.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 10_000;
    AnsiConsole.Profile.Capabilities.Ansi = false;
}

StartupTrace.Mark("console profile");
var root = new RootCommand("Pipelines: scheduled, declarative, durable batch ML pipelines.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
StartupTrace.Mark("commands built");
var parsed = root.Parse(args);
StartupTrace.Mark("parsed");
var exit = await parsed.InvokeAsync();
StartupTrace.Mark("done");
// System.CommandLine exits 1 on a usage error (missing argument, unknown option); 1 means "the run did not
// succeed" here, and the README promises 2 for invalid input.
return parsed.Errors.Count > 0 && exit == 1 ? Pipelines.Cli.ExitCodes.InvalidInput : exit;
