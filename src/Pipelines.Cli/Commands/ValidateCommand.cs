using System.CommandLine;
using Pipelines.Activities;
using Pipelines.Core.Validation;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines validate FILE…</c>: parse and validate workflow files against the activity library, without a database.</summary>
public static class ValidateCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "Workflow YAML files to check.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("validate", "Check workflow files: syntax, references, cycles, inputs and types.");
        command.Arguments.Add(files);
        command.SetAction(parseResult => Run(parseResult.GetValue(files) ?? [], Console.Out, Console.Error));
        return command;
    }

    /// <summary>Validates every file (it does not stop at the first bad one) and prints errors as <c>file:line:column: key: message</c>.</summary>
    /// <returns><see cref="ExitCodes.InvalidInput"/> if any file has an error, else <see cref="ExitCodes.NotFound"/> if any
    /// file does not exist, else <see cref="ExitCodes.Ok"/>.</returns>
    public static int Run(IReadOnlyList<string> files, TextWriter stdout, TextWriter stderr)
    {
        var registry = BuiltinActivities.CreateRegistry();
        var failed = false;
        var missing = false;
        foreach (var file in files)
        {
            try
            {
                WorkflowValidator.Load(file, registry);
                stdout.WriteLine($"{file}: ok");
            }
            catch (WorkflowValidationException e)
            {
                failed = true;
                foreach (var error in e.Errors) stderr.WriteLine(error);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                missing = true;
                stderr.WriteLine($"{file}: file not found");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failed = true;
                stderr.WriteLine($"{file}: cannot read: {e.Message}");
            }
        }
        // An invalid file outweighs a missing one: both are reported, and fixing the content is the likelier next step.
        return failed ? ExitCodes.InvalidInput : missing ? ExitCodes.NotFound : ExitCodes.Ok;
    }
}
