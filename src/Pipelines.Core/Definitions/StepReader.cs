using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Core.Expressions;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>Reads one entry of <c>steps</c>. Structural problems are reported here; references and types are the validator's job.</summary>
internal static partial class StepReader
{
    public static readonly string[] Keys = ["id", "uses", "with", "needs", "if", "retry", "timeout", "queue", "for_each", "cache"];
    public static readonly string[] RetryKeys = ["max_attempts", "backoff"];
    public static readonly string[] BackoffKeys = ["initial", "factor", "max", "jitter"];
    public static readonly string[] ForEachKeys = ["items", "max_parallel"];

    [GeneratedRegex("^[a-z_][a-z0-9_-]*$")]
    private static partial Regex IdPattern();

    public static StepDefinition? Read(YamlContext ctx, YamlNode node, int index)
    {
        var path = $"steps[{index}]";
        var e = ctx.Mapping(node, path, Keys);
        if (e is null) return null;
        var locations = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var (key, (keyNode, _)) in e) locations[key] = ctx.Loc(keyNode);

        string? id = null;
        if (!e.TryGetValue("id", out var idEntry)) ctx.Error(node, $"{path}.id", "missing key 'id'");
        else if ((id = ctx.String(idEntry.Value, $"{path}.id")) is not null && !IdPattern().IsMatch(id))
            ctx.Error(idEntry.Value, $"{path}.id", $"invalid step id '{id}'; use lower-case letters, digits, '_' and '-', starting with a letter or '_'");

        string? uses = null, version = null;
        if (!e.TryGetValue("uses", out var usesEntry)) ctx.Error(node, $"{path}.uses", "missing key 'uses', e.g. uses: log@1");
        else if (ctx.String(usesEntry.Value, $"{path}.uses") is { } u)
        {
            var at = u.IndexOf('@');
            (uses, version) = at < 0 ? (u, null) : (u[..at], u[(at + 1)..]);
            if (uses.Length == 0 || version is { Length: 0 })
                ctx.Error(usesEntry.Value, $"{path}.uses", $"malformed uses '{u}'; expected kind or kind@version");
        }

        var with = new JsonObject();
        if (e.TryGetValue("with", out var withEntry) && !YamlValues.IsNull(withEntry.Value))
        {
            if (withEntry.Value is YamlMappingNode) with = (JsonObject)ctx.Json(withEntry.Value, "with", locations)!;
            else ctx.Error(withEntry.Value, $"{path}.with", $"expected a mapping of inputs, got {YamlContext.Describe(withEntry.Value)}");
        }

        var needs = e.TryGetValue("needs", out var needsEntry) ? ReadNeeds(ctx, needsEntry.Value, path, locations) : [];
        var condition = e.TryGetValue("if", out var ifEntry) ? ctx.String(ifEntry.Value, $"{path}.if")?.Trim() : null;
        var retry = e.TryGetValue("retry", out var retryEntry) ? ReadRetry(ctx, retryEntry.Value, path, locations) : RetryPolicy.None;
        var timeout = e.TryGetValue("timeout", out var t) ? ReadDuration(ctx, t.Value, $"{path}.timeout", positive: true) : null;
        var queue = e.TryGetValue("queue", out var q) ? ctx.String(q.Value, $"{path}.queue") ?? "default" : "default";
        var forEach = e.TryGetValue("for_each", out var fe) ? ReadForEach(ctx, fe.Key, fe.Value, path, locations) : null;
        var cache = e.TryGetValue("cache", out var c) ? ctx.Boolean(c.Value, $"{path}.cache") ?? true : true;

        if (id is null || uses is null) return null;
        return new StepDefinition
        {
            Id = id,
            Uses = uses,
            Version = version,
            With = with,
            Needs = needs,
            DependsOn = DependsOn(needs, with, condition, forEach),
            If = condition,
            Retry = retry,
            Timeout = timeout,
            Queue = queue,
            ForEach = forEach,
            Cache = cache,
            Location = ctx.Loc(node),
            KeyLocations = locations,
        };
    }

    private static List<string> ReadNeeds(YamlContext ctx, YamlNode node, string path, Dictionary<string, SourceLocation> locations)
    {
        // A single string is shorthand for a one-element list.
        if (node is YamlScalarNode)
        {
            locations["needs[0]"] = ctx.Loc(node);
            return ctx.String(node, $"{path}.needs") is { } one ? [one] : [];
        }
        if (node is not YamlSequenceNode seq)
        {
            ctx.Error(node, $"{path}.needs", $"expected a step id or a sequence of step ids, got {YamlContext.Describe(node)}");
            return [];
        }
        var needs = new List<string>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            locations[$"needs[{i}]"] = ctx.Loc(seq.Children[i]);
            if (ctx.String(seq.Children[i], $"{path}.needs[{i}]") is { } s) needs.Add(s);
        }
        return needs;
    }

    private static RetryPolicy ReadRetry(YamlContext ctx, YamlNode node, string path, Dictionary<string, SourceLocation> locations)
    {
        var defaults = RetryPolicy.None;
        // `retry: 3` is shorthand for max_attempts with the default backoff.
        if (node is YamlScalarNode)
        {
            locations["retry.max_attempts"] = ctx.Loc(node);
            return defaults with { MaxAttempts = ClampInt(ctx.Integer(node, $"{path}.retry") ?? defaults.MaxAttempts) };
        }
        var e = ctx.Mapping(node, $"{path}.retry", RetryKeys);
        if (e is null) return defaults;
        var policy = defaults;
        if (e.TryGetValue("max_attempts", out var ma))
        {
            locations["retry.max_attempts"] = ctx.Loc(ma.Key);
            policy = policy with { MaxAttempts = ClampInt(ctx.Integer(ma.Value, $"{path}.retry.max_attempts") ?? defaults.MaxAttempts) };
        }
        if (!e.TryGetValue("backoff", out var b)) return policy;
        locations["retry.backoff"] = ctx.Loc(b.Key);
        var backoff = ctx.Mapping(b.Value, $"{path}.retry.backoff", BackoffKeys);
        if (backoff is null) return policy;
        foreach (var (key, (k, _)) in backoff) locations[$"retry.backoff.{key}"] = ctx.Loc(k);
        if (backoff.TryGetValue("initial", out var i) && ReadDuration(ctx, i.Value, $"{path}.retry.backoff.initial", positive: false) is { } initial)
            policy = policy with { InitialDelay = initial };
        if (backoff.TryGetValue("max", out var m) && ReadDuration(ctx, m.Value, $"{path}.retry.backoff.max", positive: false) is { } max)
            policy = policy with { MaxDelay = max };
        if (backoff.TryGetValue("factor", out var f) && ctx.Number(f.Value, $"{path}.retry.backoff.factor") is { } factor)
            policy = policy with { Factor = factor };
        if (backoff.TryGetValue("jitter", out var j) && ctx.Number(j.Value, $"{path}.retry.backoff.jitter") is { } jitter)
            policy = policy with { Jitter = jitter };
        return policy;
    }

    private static ForEachDefinition? ReadForEach(YamlContext ctx, YamlScalarNode key, YamlNode node, string path, Dictionary<string, SourceLocation> locations)
    {
        // `for_each: "${{ … }}"` is shorthand for items with unlimited parallelism.
        if (node is YamlScalarNode)
        {
            locations["for_each.items"] = ctx.Loc(node);
            return ctx.String(node, $"{path}.for_each") is { } items ? new ForEachDefinition(items, 0, ctx.Loc(key)) : null;
        }
        var e = ctx.Mapping(node, $"{path}.for_each", ForEachKeys);
        if (e is null) return null;
        foreach (var (k, (keyNode, _)) in e) locations[$"for_each.{k}"] = ctx.Loc(keyNode);
        string? itemsText = null;
        if (!e.TryGetValue("items", out var it)) ctx.Error(key, $"{path}.for_each.items", "missing key 'items'");
        else itemsText = ctx.String(it.Value, $"{path}.for_each.items");
        var maxParallel = e.TryGetValue("max_parallel", out var mp) ? ctx.Integer(mp.Value, $"{path}.for_each.max_parallel") ?? 0 : 0;
        return itemsText is null ? null : new ForEachDefinition(itemsText, ClampInt(maxParallel), ctx.Loc(key));
    }

    private static TimeSpan? ReadDuration(YamlContext ctx, YamlNode node, string key, bool positive)
    {
        if (ctx.String(node, key) is not { } text) return null;
        if (!Durations.TryParse(text, out var value)) { ctx.Error(node, key, $"invalid duration '{text}'; {Durations.Hint}"); return null; }
        if (positive && value <= TimeSpan.Zero) { ctx.Error(node, key, $"duration must be greater than zero, got '{text}'"); return null; }
        return value;
    }

    private static int ClampInt(long value) => (int)Math.Clamp(value, int.MinValue, int.MaxValue);

    /// <summary>Explicit needs, then steps read by expressions in with, if and for_each (in that order), without repeats. Malformed expressions are skipped here; the validator reports them.</summary>
    private static List<string> DependsOn(IEnumerable<string> needs, JsonObject with, string? condition, ForEachDefinition? forEach)
    {
        var result = new List<string>(needs);
        var templates = new List<Func<TemplateString>>();
        templates.AddRange(Templates.Strings(with, "with").Where(s => TemplateString.MayContainExpressions(s.Value))
            .Select(s => (Func<TemplateString>)(() => TemplateString.Parse(s.Value))));
        if (condition is not null) templates.Add(() => Templates.ParseCondition(condition));
        if (forEach is not null) templates.Add(() => TemplateString.Parse(forEach.Items));
        foreach (var parse in templates)
        {
            try { result.AddRange(parse().Expressions.SelectMany(e => e.ReferencedSteps)); }
            catch (ExpressionException) { }
        }
        return result.Distinct().ToList();
    }
}
