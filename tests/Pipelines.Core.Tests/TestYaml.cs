using Pipelines.Activities;
using Pipelines.Core.Activities;
using Pipelines.Core.Validation;

namespace Pipelines.Core.Tests;

/// <summary>Runs YAML through parsing and validation and returns every error, whichever stage found it.</summary>
internal static class TestYaml
{
    public const string File = "wf.yaml";

    public static readonly ActivityRegistry Registry = BuiltinActivities.CreateRegistry();

    public static IReadOnlyList<ValidationError> Errors(string yaml)
    {
        try
        {
            WorkflowValidator.LoadText(yaml, File, Registry);
            return [];
        }
        catch (WorkflowValidationException e)
        {
            return e.Errors;
        }
    }

    /// <summary>Errors as "line:column key: message" strings, easy to compare exactly.</summary>
    public static List<string> Lines(string yaml) =>
        Errors(yaml).Select(e => $"{e.Location.Line}:{e.Location.Column} {e.Key}: {e.Message}").ToList();
}
