using System.CommandLine;
using Pipelines.Cli.Commands;

var root = new RootCommand("Pipelines: scheduled, declarative, durable batch ML pipelines.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
