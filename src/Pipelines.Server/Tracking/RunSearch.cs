using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tracking;

/// <summary>
/// MLflow's search syntax for runs: <c>metrics.x &gt; 0.8 and params.y = 'z'</c>, <c>tags.`a b` LIKE 'x%'</c>,
/// <c>attributes.status = 'FINISHED'</c>, <c>attributes.run_id IN ('…')</c>; clauses joined by AND only (as in
/// MLflow). Ordering (<c>metrics.auc DESC</c>, missing values last, then start_time DESC, run id) and
/// offset page tokens (base64 of <c>{"offset": n}</c>, as MLflow's SQL store).
/// </summary>
public static class RunSearch
{
    public sealed record Clause(string Type, string Key, string Comparator, object Value);

    /// <summary>What an entity's filter may name: entity prefixes, and attributes compared as numbers, strings, or lists (IN).</summary>
    public sealed record Spec(IReadOnlySet<string> Types, IReadOnlySet<string> NumericAttributes, IReadOnlySet<string> StringAttributes,
        IReadOnlySet<string> ListAttributes, string AttributeHint);

    public static readonly Spec Runs = new(new HashSet<string> { "metrics", "params", "tags", "attributes", "datasets" },
        new HashSet<string> { "start_time", "end_time", "created" },
        new HashSet<string> { "status", "run_name", "artifact_uri", "user_id", "run_id", "lifecycle_stage" },
        new HashSet<string> { "run_id" },
        "{'start_time', 'end_time', 'created', 'status', 'run_name', 'artifact_uri', 'user_id', 'run_id'}");

    public static readonly Spec Experiments = new(new HashSet<string> { "tags", "attributes" },
        new HashSet<string> { "creation_time", "last_update_time" }, new HashSet<string> { "name" }, new HashSet<string>(),
        "{'name', 'creation_time', 'last_update_time'}");

    public static readonly Spec RegisteredModels = new(new HashSet<string> { "tags", "attributes" },
        new HashSet<string>(), new HashSet<string> { "name" }, new HashSet<string>(), "{'name'}");

    public static readonly Spec ModelVersions = new(new HashSet<string> { "tags", "attributes" },
        new HashSet<string> { "version_number" }, new HashSet<string> { "name", "run_id", "source_path" }, new HashSet<string> { "name", "run_id" },
        "{'name', 'run_id', 'source_path', 'version_number'}");

    /// <summary>The clauses as the parallel arrays the SQL search statements take (see tracking.sql, RunsWithData).</summary>
    public static (string, object?)[] SqlParameters(IReadOnlyList<Clause> clauses) =>
    [
        ("c_types", clauses.Select(c => c.Type).ToArray()),
        ("c_keys", clauses.Select(c => c.Key).ToArray()),
        ("c_ops", clauses.Select(c => c.Comparator).ToArray()),
        ("c_texts", clauses.Select(c => c.Value as string).ToArray()),
        ("c_numbers", clauses.Select(c => c.Value is double d ? d : (double?)null).ToArray()),
        ("c_lists", clauses.Select(c => c.Value is List<string> l ? JsonSerializer.Serialize(l) : null).ToArray()),
    ];

    private const string NumericComparators = "{'!=', '=', '<=', '>=', '<', '>'}";
    private const string StringComparators = "{'!=', '=', 'LIKE', 'ILIKE'}";
    private static readonly HashSet<string> Numeric = ["=", "!=", ">", ">=", "<", "<="];
    private static readonly HashSet<string> Strings = ["=", "!=", "LIKE", "ILIKE"];

    public static IReadOnlyList<Clause> Parse(string? filter, Spec? spec = null)
    {
        spec ??= Runs;
        var clauses = new List<Clause>();
        if (string.IsNullOrWhiteSpace(filter)) return clauses;
        var tokens = Tokenize(filter);
        var i = 0;
        while (i < tokens.Count)
        {
            if (clauses.Count > 0)
            {
                if (!tokens[i].Equals("AND", StringComparison.OrdinalIgnoreCase))
                    throw Validation.Invalid($"Invalid clause(s) in filter string: '{filter}'. Only 'AND' is supported between clauses.");
                i++;
            }
            if (i >= tokens.Count) throw Validation.Invalid($"Invalid filter '{filter}'. Expected a clause after AND.");
            var (type, key) = Identifier(tokens[i++], filter, spec);
            if (i >= tokens.Count) throw Validation.Invalid($"Invalid filter '{filter}'. Expected a comparator after '{type}.{key}'.");
            var comparator = tokens[i++].ToUpperInvariant();
            if (comparator == "NOT" && i < tokens.Count && tokens[i].Equals("IN", StringComparison.OrdinalIgnoreCase)) { comparator = "NOT IN"; i++; }
            if (i >= tokens.Count) throw Validation.Invalid($"Invalid filter '{filter}'. Expected a value after '{comparator}'.");
            var raw = tokens[i++];
            clauses.Add(Check(type, key, comparator, raw, filter, spec));
        }
        return clauses;
    }

    /// <summary>What <c>datasets.KEY</c> may name in a runs filter, and how it may compare (as MLflow 2.17).</summary>
    private static readonly HashSet<string> DatasetKeys = ["name", "digest", "context"];
    private static readonly HashSet<string> DatasetComparators = ["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"];

    private static Clause Check(string type, string key, string comparator, string raw, string filter, Spec spec)
    {
        if (type == "datasets")
        {
            if (!DatasetComparators.Contains(comparator))
                throw Validation.Invalid($"Invalid comparator '{comparator}' not one of '{{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}}");
            if (comparator is "IN" or "NOT IN")
            {
                if (!raw.StartsWith('(')) throw Validation.Invalid($"While parsing a list in the query, expected a non-empty list of string values, but got {raw}");
                return new Clause(type, key, comparator, Tokenize(raw[1..^1]).Where(t => t != ",")
                    .Select(t => Unquote(t) ?? throw Validation.Invalid($"Expected a quoted string value for dataset attributes. Got value {t}")).ToList());
            }
            return new Clause(type, key, comparator, Unquote(raw) ?? throw Validation.Invalid($"Expected a quoted string value for dataset attributes. Got value {raw}"));
        }
        var numeric = type == "metrics" || (type == "attributes" && spec.NumericAttributes.Contains(key));
        if (type == "attributes" && spec.ListAttributes.Contains(key) && comparator is "IN" or "NOT IN")
        {
            if (!raw.StartsWith('(')) throw Validation.Invalid($"While parsing a list in the query, expected a non-empty list of string values, but got {raw}");
            var items = Tokenize(raw[1..^1]).Where(t => t != ",").Select(t => Unquote(t) ?? throw Validation.Invalid($"Expected a quoted string value for attributes. Got value {t}")).ToList();
            return new Clause(type, key, comparator, items);
        }
        if (numeric)
        {
            if (!Numeric.Contains(comparator)) throw Validation.Invalid($"Invalid comparator '{comparator}' not one of '{NumericComparators}");
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                throw Validation.Invalid(type == "metrics"
                    ? $"Expected numeric value type for metric. Found {raw}"
                    : $"Expected numeric value type for numeric attribute: {key}. Found {raw}");
            return new Clause(type, key, comparator, d);
        }
        if (!Strings.Contains(comparator)) throw Validation.Invalid($"Invalid comparator '{comparator}' not one of '{StringComparators}");
        var s = Unquote(raw) ?? throw Validation.Invalid(type switch
        {
            "params" => $"Expected a quoted string value for param. Got value {raw}",
            "tags" => $"Expected a quoted string value for tag. Got value {raw}",
            _ => $"Expected a quoted string value for attributes. Got value {raw}",
        });
        return new Clause(type, key, comparator, s);
    }

    private static (string Type, string Key) Identifier(string token, string filter, Spec spec)
    {
        var dot = token.IndexOf('.');
        if (dot < 0)
        {
            var k = Unquote(token, backticks: true) ?? token;
            return ("attributes", Attribute(k, spec));
        }
        var prefix = token[..dot].ToLowerInvariant();
        var key = token[(dot + 1)..];
        key = Unquote(key, backticks: true) ?? key;
        if (key.Length == 0) throw Validation.Invalid($"Invalid identifier '{token}'");
        var result = prefix switch
        {
            "metric" or "metrics" => ("metrics", key),
            "param" or "params" or "parameter" or "parameters" => ("params", key),
            "tag" or "tags" => ("tags", key),
            "attribute" or "attributes" or "attr" or "run" => ("attributes", Attribute(key, spec)),
            "dataset" or "datasets" when spec.Types.Contains("datasets") => ("datasets", DatasetKeys.Contains(key) ? key
                : throw Validation.Invalid($"Invalid dataset key '{key}' specified. Valid keys are '{{'name', 'digest', 'context'}}'")),
            _ => throw Validation.Invalid($"Invalid entity type '{token[..dot]}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"),
        };
        if (!spec.Types.Contains(result.Item1))
            throw Validation.Invalid($"Invalid entity type '{token[..dot]}'. Valid values are {string.Join(", ", spec.Types.Select(t => $"'{t.TrimEnd('s')}'"))}");
        return result;
    }

    private static string Attribute(string key, Spec spec)
    {
        var k = key == "Created" ? "created" : key;
        if (!spec.NumericAttributes.Contains(k) && !spec.StringAttributes.Contains(k))
            throw Validation.Invalid($"Invalid attribute key '{key}' specified. Valid keys are '{spec.AttributeHint}'");
        return k;
    }

    private static string? Unquote(string token, bool backticks = false)
    {
        if (token.Length >= 2 && ((token[0] == '\'' && token[^1] == '\'') || (token[0] == '"' && token[^1] == '"') || (backticks && token[0] == '`' && token[^1] == '`')))
            return token[1..^1];
        return null;
    }

    /// <summary>Identifiers (with dotted, quoted keys), quoted strings, numbers, comparator runs, parenthesised lists.</summary>
    private static List<string> Tokenize(string s)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < s.Length)
        {
            var ch = s[i];
            if (char.IsWhiteSpace(ch)) { i++; continue; }
            var start = i;
            if (ch is '\'' or '"' or '`')
            {
                i = ClosingQuote(s, i);
            }
            else if (ch == '(')
            {
                while (i < s.Length && s[i] != ')') i = s[i] is '\'' or '"' ? ClosingQuote(s, i) : i + 1;
                if (i >= s.Length) throw Validation.Invalid($"Invalid filter '{s}'. Unbalanced parenthesis.");
                i++;
            }
            else if (ch == ',') i++;
            else if ("<>=!~".Contains(ch))
            {
                while (i < s.Length && "<>=!~".Contains(s[i])) i++;
            }
            else
            {
                while (i < s.Length && !char.IsWhiteSpace(s[i]) && !"<>=!(,".Contains(s[i]))
                    i = s[i] is '"' or '`' or '\'' ? ClosingQuote(s, i) : i + 1;
            }
            tokens.Add(s[start..i]);
        }
        return tokens;
    }

    private static int ClosingQuote(string s, int open)
    {
        var close = s.IndexOf(s[open], open + 1);
        if (close < 0) throw Validation.Invalid($"Invalid filter '{s}'. Unterminated quoted string.");
        return close + 1;
    }

    public static bool Matches(Run run, IReadOnlyList<Clause> clauses) => clauses.All(c => Matches(run, c));

    private static bool Matches(Run run, Clause c)
    {
        switch (c.Type)
        {
            case "metrics":
                return run.Data.Metric(c.Key) is { } m && Compare(m.Value.CompareTo((double)c.Value), c.Comparator);
            case "params":
                return run.Data.Param(c.Key) is { } p && CompareString(p, (string)c.Value, c.Comparator);
            case "tags":
                return run.Data.Tag(c.Key) is { } t && CompareString(t, (string)c.Value, c.Comparator);
            case "datasets":
                // As MLflow: true when any of the run's dataset inputs matches (context: its mlflow.data.context tag).
                return (run.Inputs?.DatasetInputs ?? []).Any(i =>
                {
                    var value = c.Key switch
                    {
                        "name" => i.Dataset.Name,
                        "digest" => i.Dataset.Digest,
                        _ => i.Tags?.FirstOrDefault(t => t.Key == "mlflow.data.context")?.Value,
                    };
                    if (value is null) return false;
                    return c.Value is List<string> list ? list.Contains(value) == (c.Comparator == "IN") : CompareString(value, (string)c.Value, c.Comparator);
                });
        }
        var info = run.Info;
        switch (c.Key)
        {
            case "start_time" or "created": return info.StartTime is { } st && Compare(((double)st).CompareTo((double)c.Value), c.Comparator);
            case "end_time": return info.EndTime is { } et && Compare(((double)et).CompareTo((double)c.Value), c.Comparator);
            case "run_id" when c.Value is List<string> ids: return ids.Contains(info.RunId) == (c.Comparator == "IN");
        }
        var actual = c.Key switch
        {
            "status" => info.Status, "run_name" => info.RunName, "artifact_uri" => info.ArtifactUri,
            "user_id" => info.UserId, "run_id" => info.RunId, _ => info.LifecycleStage,
        };
        return actual is not null && CompareString(actual, (string)c.Value, c.Comparator);
    }

    private static bool Compare(int cmp, string op) => op switch
    {
        "=" => cmp == 0, "!=" => cmp != 0, ">" => cmp > 0, ">=" => cmp >= 0, "<" => cmp < 0, _ => cmp <= 0,
    };

    private static bool CompareString(string actual, string value, string op) => op switch
    {
        "=" => actual == value,
        "!=" => actual != value,
        "LIKE" => Like(value, false).IsMatch(actual),
        _ => Like(value, true).IsMatch(actual),
    };

    private static Regex Like(string pattern, bool ignoreCase)
    {
        var sb = new StringBuilder("^");
        foreach (var ch in pattern)
            sb.Append(ch switch { '%' => ".*", '_' => ".", _ => Regex.Escape(ch.ToString()) });
        return new Regex(sb.Append('$').ToString(), (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None) | RegexOptions.Singleline);
    }

    // ---- ordering

    public sealed record OrderKey(string Type, string Key, bool Ascending);

    public static IReadOnlyList<OrderKey> ParseOrderBy(IReadOnlyList<string>? orderBy)
    {
        var keys = new List<OrderKey>();
        foreach (var clause in orderBy ?? [])
        {
            var tokens = Tokenize(clause);
            if (tokens.Count is < 1 or > 2) throw Validation.Invalid($"Invalid order_by clause '{clause}'. Could not be parsed.");
            var ascending = true;
            if (tokens.Count == 2)
            {
                ascending = tokens[1].ToUpperInvariant() switch
                {
                    "ASC" => true, "DESC" => false,
                    _ => throw Validation.Invalid($"Invalid ordering key in order_by clause '{clause}'."),
                };
            }
            var (type, key) = Identifier(tokens[0], clause, Runs);
            keys.Add(new OrderKey(type, key, ascending));
        }
        return keys;
    }

    public static IEnumerable<Run> Order(IEnumerable<Run> runs, IReadOnlyList<OrderKey> keys)
    {
        IOrderedEnumerable<Run>? ordered = null;
        foreach (var k in keys)
        {
            // Missing values sort last in both directions, as MLflow's SQL store does.
            Func<Run, bool> missing = r => Value(r, k) is null;
            ordered = ordered is null ? runs.OrderBy(missing) : ordered.ThenBy(missing);
            ordered = k.Ascending ? ordered.ThenBy(r => Value(r, k), ValueComparer.Instance) : ordered.ThenByDescending(r => Value(r, k), ValueComparer.Instance);
        }
        if (!keys.Any(k => k.Type == "attributes" && k.Key is "start_time" or "created"))
            ordered = ordered is null ? runs.OrderByDescending(r => r.Info.StartTime) : ordered.ThenByDescending(r => r.Info.StartTime);
        // Not null: either a key ordered the runs or the start-time default above did.
        return ordered!.ThenBy(r => r.Info.RunId, StringComparer.Ordinal);
    }

    private static object? Value(Run r, OrderKey k) => k.Type switch
    {
        "metrics" => r.Data.Metric(k.Key)?.Value,
        "params" => r.Data.Param(k.Key),
        "tags" => r.Data.Tag(k.Key),
        _ => k.Key switch
        {
            "start_time" or "created" => r.Info.StartTime, "end_time" => r.Info.EndTime, "status" => r.Info.Status,
            "run_name" => r.Info.RunName, "artifact_uri" => r.Info.ArtifactUri, "user_id" => r.Info.UserId, _ => (object?)r.Info.RunId,
        },
    };

    private sealed class ValueComparer : IComparer<object?>
    {
        public static readonly ValueComparer Instance = new();
        public int Compare(object? x, object? y) => (x, y) switch
        {
            (null, null) => 0, (null, _) => 1, (_, null) => -1,
            (double a, double b) => a.CompareTo(b),
            (long a, long b) => a.CompareTo(b),
            (string a, string b) => string.CompareOrdinal(a, b),
            _ => string.CompareOrdinal(x.ToString(), y.ToString()),
        };
    }

    // ---- paging

    public static int DecodePageToken(string? token)
    {
        if (string.IsNullOrEmpty(token)) return 0;
        try
        {
            using var doc = JsonDocument.Parse(Convert.FromBase64String(token));
            var offset = doc.RootElement.GetProperty("offset").GetInt32();
            return offset >= 0 ? offset : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw Validation.Invalid("Invalid page token, could not base64-decode");
        }
    }

    public static string EncodePageToken(int offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"offset\": {offset}}}"));

    /// <summary>One page of <paramref name="items"/> and the token of the next, if any.</summary>
    public static (List<T> Items, string? Next) PageOf<T>(IEnumerable<T> items, int offset, int maxResults)
    {
        var page = items.Skip(offset).Take(maxResults + 1).ToList();
        if (page.Count <= maxResults) return (page, null);
        page.RemoveAt(page.Count - 1);
        return (page, EncodePageToken(offset + maxResults));
    }
}
