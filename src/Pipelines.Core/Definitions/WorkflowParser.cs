using System.Text.RegularExpressions;
using Pipelines.Core.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>Reads workflow YAML into a <see cref="WorkflowDefinition"/>, keeping the location of every key.</summary>
public static partial class WorkflowParser
{
    internal static readonly string[] Keys = ["name", "description", "parameters", "schedule", "on", "steps"];

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex NamePattern();

    /// <exception cref="WorkflowValidationException">the YAML is malformed or does not match the format; every error has file:line:column.</exception>
    public static WorkflowDefinition Parse(string text, string path)
    {
        var ctx = new YamlContext(path);
        var root = Load(ctx, text);
        var definition = root is null ? null : Read(ctx, root, text);
        if (ctx.Errors.Count > 0 || definition is null) throw new WorkflowValidationException(ValidationError.InFileOrder(ctx.Errors));
        return definition;
    }

    public static WorkflowDefinition ParseFile(string path) => Parse(File.ReadAllText(path), path);

    private static YamlNode? Load(YamlContext ctx, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            // YamlDotNet wraps some errors (e.g. duplicate keys) around a more specific inner message.
            var message = e.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) ? $"{e.Message} ({inner.Message})" : e.Message;
            // YamlDotNet reports a tab in indentation where the enclosing scalar or mapping started (e.g. 1:1, or
            // the end of the line above), not where the tab is; point at the tab itself.
            if (message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstIndentationTab(text, (int)e.Start.Line) is { } tab)
            {
                ctx.Error(new SourceLocation(ctx.File, tab.Line, tab.Column), "yaml", "tab character in indentation; YAML indents with spaces only");
                return null;
            }
            ctx.Error(new SourceLocation(ctx.File, (int)e.Start.Line, (int)e.Start.Column), "yaml", StripLocation(message));
            return null;
        }
        if (stream.Documents.Count == 0)
        {
            ctx.Error(new SourceLocation(ctx.File, 1, 1), "yaml", "the file is empty; a workflow needs at least name and steps");
            return null;
        }
        if (stream.Documents.Count > 1)
            ctx.Error(stream.Documents[1].RootNode, "yaml", "a workflow file holds exactly one YAML document");
        return stream.Documents[0].RootNode;
    }

    /// <summary>
    /// The 1-based line and column of the first tab among a line's leading whitespace at or after line
    /// <paramref name="from"/> (where YamlDotNet's error starts; earlier tabs may be legal block scalar content).
    /// </summary>
    private static (int Line, int Column)? FirstIndentationTab(string text, int from)
    {
        var line = 1;
        var column = 1;
        var leading = true;
        foreach (var c in text)
        {
            if (c == '\n') { line++; column = 1; leading = true; continue; }
            if (leading && c == '\t' && line >= from) return (line, column);
            if (c != ' ' && c != '\r') leading = false;
            column++;
        }
        return null;
    }

    // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 20) - (…): "; our location already says that.
    private static string StripLocation(string message) =>
        Regex.Replace(message, @"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", "");

    private static WorkflowDefinition? Read(YamlContext ctx, YamlNode root, string text)
    {
        var e = ctx.Mapping(root, "", Keys);
        if (e is null) return null;

        string? name = null;
        if (!e.TryGetValue("name", out var n)) ctx.Error(root, "name", "missing key 'name'");
        else if ((name = ctx.String(n.Value, "name")) is not null && !NamePattern().IsMatch(name))
            ctx.Error(n.Value, "name", $"invalid workflow name '{name}'; use lower-case letters, digits, '_' and '-', starting with a letter or digit");

        var description = e.TryGetValue("description", out var d) && !YamlValues.IsNull(d.Value) ? ctx.String(d.Value, "description") : null;
        var parameters = e.TryGetValue("parameters", out var p) && !YamlValues.IsNull(p.Value) ? ParameterReader.Read(ctx, p.Value) : [];
        var schedule = e.TryGetValue("schedule", out var s) && !YamlValues.IsNull(s.Value) ? ScheduleReader.Read(ctx, s.Key, s.Value) : null;
        var triggers = e.TryGetValue("on", out var on) && !YamlValues.IsNull(on.Value) ? TriggerReader.Read(ctx, on.Value) : [];

        var steps = new List<StepDefinition>();
        if (!e.TryGetValue("steps", out var st)) ctx.Error(root, "steps", "missing key 'steps'");
        else if (st.Value is not YamlSequenceNode seq)
            ctx.Error(st.Value, "steps", $"expected a sequence of steps, got {YamlContext.Describe(st.Value)}");
        else if (seq.Children.Count == 0)
            ctx.Error(st.Value, "steps", "a workflow needs at least one step");
        else
            for (var i = 0; i < seq.Children.Count; i++)
                if (StepReader.Read(ctx, seq.Children[i], i) is { } step) steps.Add(step);

        return name is null ? null : new WorkflowDefinition(name, description, parameters, schedule, steps, ctx.File, text) { Triggers = triggers };
    }
}
