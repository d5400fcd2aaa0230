using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>
/// Reads <c>on:</c>, a list of events the workflow starts on, e.g.
/// <c>- monitor_alert: adult-income</c> with optional <c>window</c>, <c>params</c> and (for files) <c>settle</c>.
/// Expressions and parameter names are checked by the validator.
/// </summary>
internal static class TriggerReader
{
    private static readonly string[] KindKeys = ["workflow_succeeded", "monitor_alert", "file"];
    internal static readonly string[] Keys = [.. KindKeys, "window", "params", "settle"];

    public static IReadOnlyList<TriggerDefinition> Read(YamlContext ctx, YamlNode node)
    {
        if (node is not YamlSequenceNode seq)
        {
            ctx.Error(node, "on", $"expected a list of events, e.g. '- monitor_alert: my-model', got {YamlContext.Describe(node)}");
            return [];
        }
        var triggers = new List<TriggerDefinition>();
        for (var i = 0; i < seq.Children.Count; i++)
            if (ReadOne(ctx, seq.Children[i], $"on[{i}]") is { } t) triggers.Add(t);
        return triggers;
    }

    private static TriggerDefinition? ReadOne(YamlContext ctx, YamlNode node, string path)
    {
        var e = ctx.Mapping(node, path, Keys);
        if (e is null) return null;
        var kinds = KindKeys.Where(e.ContainsKey).ToList();
        if (kinds.Count != 1)
        {
            ctx.Error(kinds.Count == 0 ? node : e[kinds[1]].Key, path, kinds.Count == 0
                ? $"missing the event; one of: {string.Join(", ", KindKeys)}"
                : $"one event per entry; found {string.Join(" and ", kinds)} (write a separate '- {kinds[1]}: …' entry)");
            return null;
        }
        var kindEntry = e[kinds[0]];
        var source = ctx.String(kindEntry.Value, $"{path}.{kinds[0]}");
        if (source is { Length: 0 }) ctx.Error(kindEntry.Value, $"{path}.{kinds[0]}", "must not be empty");
        else if (kinds[0] == "file" && source is not null && WatchedUrlError(source) is { } urlError)
            ctx.Error(kindEntry.Value, $"{path}.file", urlError);

        var locations = new Dictionary<string, SourceLocation>();
        foreach (var (k, (key, _)) in e) locations[k] = ctx.Loc(key);
        TimeSpan? window = null;
        if (e.TryGetValue("window", out var w)) window = ReadDuration(ctx, w.Value, $"{path}.window");
        var settle = TriggerDefinition.DefaultSettle;
        if (e.TryGetValue("settle", out var s))
        {
            if (kinds[0] != "file") ctx.Error(s.Key, $"{path}.settle", "settle applies only to file events");
            else if (ctx.String(s.Value, $"{path}.settle") is { } text)
            {
                if (!Durations.TryParse(text, out var value) || value < TimeSpan.Zero)
                    ctx.Error(s.Value, $"{path}.settle", $"invalid duration '{text}'; {Durations.Hint}");
                else settle = value;
            }
        }
        var parameters = new JsonObject();
        if (e.TryGetValue("params", out var p) && !YamlValues.IsNull(p.Value))
        {
            if (p.Value is YamlMappingNode) parameters = (JsonObject)ctx.Json(p.Value, "params", locations)!;
            else ctx.Error(p.Value, $"{path}.params", $"expected a mapping of parameter values, got {YamlContext.Describe(p.Value)}");
        }
        if (string.IsNullOrEmpty(source)) return null;
        return new TriggerDefinition(TriggerDefinition.Parse(kinds[0])!.Value, source, parameters, window, settle, ctx.Loc(kindEntry.Key))
        {
            KeyLocations = locations,
        };
    }

    /// <summary>
    /// A watched blob container is named by its URL and a glob, <c>https://ACCOUNT.blob.core.windows.net/CONTAINER/incoming/*.csv</c>.
    /// Credentials never go in a workflow file (it is stored, shown and versioned): a URL with a query (a SAS) or with a
    /// user name is refused; the leader lists with the artifact store's credential or Azure's default one.
    /// </summary>
    public static string? WatchedUrlError(string source)
    {
        if (!source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return null;
        // '?' is also the glob's one-character wildcard; a query is '?' followed by parameters (sv=…&sig=…).
        var q = source.IndexOf('?');
        if (q >= 0 && source.IndexOf('=', q) >= 0) return "a watched blob URL must not carry a query (a SAS is a secret and does not belong in a workflow file); " +
                           "the leader lists the container with the artifact store's credential when it is the same account, else with Azure's default credential";
        if (!Uri.TryCreate(source.Replace("*", "x").Replace("?", "x"), UriKind.Absolute, out var uri)) return "not a valid URL";
        if (uri.UserInfo.Length > 0) return "a watched blob URL must not carry a user name or password";
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var pathStyle = uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.IsLoopback;
        if (segments.Length < (pathStyle ? 3 : 2))
            return pathStyle
                ? "expected http(s)://HOST:PORT/ACCOUNT/CONTAINER/GLOB, e.g. http://127.0.0.1:10000/devstoreaccount1/incoming/*.csv"
                : "expected https://ACCOUNT.blob.core.windows.net/CONTAINER/GLOB, e.g. https://acct.blob.core.windows.net/incoming/*.csv";
        return null;
    }

    private static TimeSpan? ReadDuration(YamlContext ctx, YamlNode node, string key)
    {
        if (ctx.String(node, key) is not { } text) return null;
        if (!Durations.TryParse(text, out var value)) { ctx.Error(node, key, $"invalid duration '{text}'; {Durations.Hint}"); return null; }
        if (value <= TimeSpan.Zero) { ctx.Error(node, key, $"duration must be greater than zero, got '{text}'"); return null; }
        return value;
    }
}
