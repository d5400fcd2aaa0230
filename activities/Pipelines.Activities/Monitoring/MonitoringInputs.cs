using Pipelines.Activities.Data;
using Pipelines.Activities.Model;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Tuning;
using Pipelines.Core.Monitoring;
using Pipelines.Quality.Drift;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Activities.Monitoring;

/// <summary>What the monitoring activities read from their inputs and services, with errors that name the input.</summary>
internal static class MonitoringInputs
{
    /// <summary>The monitoring store of this worker, or null when it runs without one (results are then not kept).</summary>
    public static IMonitorStore? Store(ActivityContext context) => ActivityServices.TryFrom(context)?.Monitoring;

    public static IReadOnlyList<string>? Strings(JsonObject inputs, string name) => inputs[name] switch
    {
        null => null,
        JsonArray a => a.Select((n, i) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s
            : throw new ActivityException($"{name}[{i}]: must be a string", retryable: false)).ToList(),
        _ => throw new ActivityException($"{name}: must be a list of column names", retryable: false),
    };

    public static int Int(JsonObject inputs, string name, int fallback, int min, int max)
    {
        long? value;
        try { value = JsonNumber.Long(inputs[name]); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new ActivityException($"{name}: {e.Message}", retryable: false, e);
        }
        if (value is null) return fallback;
        if (value < min || value > max) throw new ActivityException($"{name}: {value} is outside [{min}, {max}]", retryable: false);
        return (int)value;
    }

    /// <summary>Predictions of a model for every row of a table: one value per row (a class index for multiclass models).</summary>
    public static double[] Predict(string modelDir, Table table, string modelLabel, string dataLabel)
    {
        using var model = MlflowModel.Load(modelDir);
        try
        {
            var p = model.Predict(table);
            if (p.Columns == 1) return p.Values;
            var result = new double[p.Rows];
            for (var r = 0; r < p.Rows; r++)
            {
                var row = p.Row(r);
                var best = 0;
                for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
                result[r] = best;
            }
            return result;
        }
        catch (Pipelines.Ml.ColumnMismatchException e)
        {
            throw new ActivityException($"'{dataLabel}' does not fit {modelLabel}: {e.Message}", retryable: false, e);
        }
    }

    /// <summary>
    /// The 'prediction' column of one or more prediction tables (a batch_predict output, a list of them, or a path),
    /// in partition order.
    /// </summary>
    public static async Task<double[]> ReadPredictionsAsync(ActivityContext context, string inputName, CancellationToken ct)
    {
        var parts = new List<double[]>();
        foreach (var (label, table) in await ReadTablesAsync(context, inputName, null, ct))
        {
            var index = table.Schema.IndexOf("prediction");
            if (index < 0 || !Profiler.IsNumeric(table.Schema[index].Type))
                throw new ActivityException($"input '{inputName}': '{label}' has no numeric 'prediction' column (columns: {string.Join(", ", table.Schema.Fields.Select(f => f.Name))})", retryable: false);
            parts.Add(Profiler.AsDoubles(table.Columns[index]));
        }
        return parts.SelectMany(p => p).ToArray();
    }

    /// <summary>
    /// The tables of an input that is one table or a list of them (paths or artifact references), ordered by their
    /// 'partition' field when they carry one (batch_predict outputs), else as listed. Labels name each for errors.
    /// </summary>
    public static async Task<IReadOnlyList<(string Label, Table Table)>> ReadTablesAsync(ActivityContext context, string inputName,
        Pipelines.Data.Csv.CsvOptions? csv, CancellationToken ct)
    {
        var node = context.Inputs[inputName] ?? throw new ActivityException($"input '{inputName}' is required", retryable: false);
        var items = node is JsonArray a ? a.ToList() : [node];
        if (items.Count == 0) throw new ActivityException($"input '{inputName}' is an empty list", retryable: false);
        var services = ActivityServices.From(context);
        var parts = new List<(long Order, string Label, Table Table)>();
        foreach (var (item, i) in items.Select((n, i) => (n, i)))
        {
            string file, label;
            if (item is JsonValue v && v.TryGetValue<string>(out var path))
            {
                if (!File.Exists(path)) throw new ActivityException($"input '{inputName}'[{i}]: file '{path}' does not exist", retryable: false);
                (file, label) = (path, path);
            }
            else if (ArtifactRefs.IsReference(item))
            {
                var id = Guid.Parse(item!["artifact"]!.GetValue<string>());
                var record = await services.Artifacts.Registry.GetAsync(id, ct)
                    ?? throw new ActivityException($"input '{inputName}'[{i}]: artifact {id} is not registered", retryable: false);
                file = await ArtifactRefs.LocalFileAsync(context, record, items.Count == 1 ? inputName : $"{inputName}-{i}", ct);
                label = ArtifactRefs.DisplayName(item);
            }
            else throw new ActivityException($"input '{inputName}'[{i}] must be a file path or an artifact reference", retryable: false);
            long order;
            try { order = item is JsonObject o ? JsonNumber.Long(o["partition"]) ?? i : i; }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException) { order = i; }
            parts.Add((order, label, TableFiles.Read(file, csv ?? new(), $"input '{inputName}'[{i}]")));
        }
        return parts.OrderBy(p => p.Order).Select(p => (p.Label, p.Table)).ToList();
    }

    /// <summary>Thresholds from <c>{psi: {warn, alert}, ks_d, missing_rate_change, out_of_range, unseen, prediction_psi, schema_change}</c>; unnamed ones keep their defaults.</summary>
    public static MonitorThresholds Thresholds(JsonNode? node)
    {
        var t = new MonitorThresholds();
        if (node is null) return t;
        if (node is not JsonObject o) throw new ActivityException("thresholds: must be an object", retryable: false);
        foreach (var (key, value) in o)
        {
            t = key switch
            {
                "psi" => t with { Psi = Level(value, key, t.Psi) },
                "ks_d" => t with { KsD = Level(value, key, t.KsD) },
                "missing_rate_change" => t with { MissingRateChange = Level(value, key, t.MissingRateChange) },
                "out_of_range" => t with { OutOfRange = Level(value, key, t.OutOfRange) },
                "unseen" => t with { Unseen = Level(value, key, t.Unseen) },
                "prediction_psi" => t with { PredictionPsi = Level(value, key, t.PredictionPsi) },
                "schema_change" => t with
                {
                    SchemaChange = value?.ToString() switch
                    {
                        "ok" => MonitorVerdict.Ok, "warn" => MonitorVerdict.Warn, "alert" => MonitorVerdict.Alert,
                        var s => throw new ActivityException($"thresholds.schema_change: '{s}' is not ok, warn or alert", retryable: false),
                    },
                },
                _ => throw new ActivityException($"thresholds.{key}: unknown measure (psi, ks_d, missing_rate_change, out_of_range, unseen, prediction_psi, schema_change)", retryable: false),
            };
        }
        return t;
    }

    private static Threshold Level(JsonNode? node, string key, Threshold defaults)
    {
        if (node is not JsonObject o) throw new ActivityException($"thresholds.{key}: must be {{warn, alert}} (a number each, or null to turn a level off)", retryable: false);
        double? Read(string level, double? fallback)
        {
            if (!o.ContainsKey(level)) return fallback;
            var v = o[level];
            if (v is null) return null;
            var d = JsonNumber.Double(v);
            if (d is not { } x || double.IsNaN(x) || x < 0) throw new ActivityException($"thresholds.{key}.{level}: must be a non-negative number", retryable: false);
            return x;
        }
        foreach (var k in o.Select(kv => kv.Key))
            if (k is not ("warn" or "alert")) throw new ActivityException($"thresholds.{key}.{k}: unknown level (warn, alert)", retryable: false);
        var result = new Threshold(Read("warn", defaults.Warn), Read("alert", defaults.Alert));
        if (result is { Warn: { } w, Alert: { } a } && w > a) throw new ActivityException($"thresholds.{key}: warn {w} is above alert {a}", retryable: false);
        return result;
    }

    public static async Task<JsonObject> PublishTextAsync(ActivityContext context, string name, string text, CancellationToken ct)
    {
        var path = Path.Combine(ActivityServices.From(context).WorkDirectory(context), name);
        await File.WriteAllTextAsync(path, text, ct);
        return await ArtifactRefs.PublishAsync(context, path, name, ArtifactKinds.File, ct);
    }
}
