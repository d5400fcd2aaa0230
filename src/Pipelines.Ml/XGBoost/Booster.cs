using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Ml.XGBoost;

/// <summary>Which output <see cref="Booster.Predict"/> returns.</summary>
public enum PredictionKind
{
    /// <summary>Transformed by the objective: probabilities for classification, values for regression.</summary>
    Value = 0,
    /// <summary>Raw margin (log-odds for binary:logistic).</summary>
    Margin = 1,
    /// <summary>
    /// Exact SHAP (TreeSHAP) contributions in margin units, as Python's <c>predict(pred_contribs=True)</c>: per row
    /// one value per feature plus the bias last ([rows, features + 1]; [rows, classes, features + 1] for multiclass).
    /// </summary>
    Contribution = 2,
}

/// <summary>Predictions with their shape: [rows] for one output per row, [rows, k] for k classes.</summary>
public sealed record PredictionArray(float[] Values, int Rows, int Columns)
{
    public float this[int row, int column = 0] => Values[row * Columns + column];
}

/// <summary>Model file formats that XGBoost 1.7 reads and writes; chosen by file extension.</summary>
public enum ModelFormat { Json, Ubj }

/// <summary>
/// A gradient-boosted model held by the native library. Prediction and evaluation are serialized per booster
/// (XGBoost returns their results in a buffer the booster owns); training is not meant to be called concurrently.
/// </summary>
public sealed unsafe class Booster : IDisposable
{
    private readonly Lock _gate = new();

    internal BoosterHandle Handle { get; private set; }

    private Booster(BoosterHandle handle) => Handle = handle;

    /// <summary>A new booster whose cache holds <paramref name="cache"/> (training and evaluation matrices).</summary>
    public Booster(IReadOnlyList<DMatrix> cache, IReadOnlyDictionary<string, string>? parameters = null)
    {
        XGBoostLibrary.EnsureLoaded();
        var handles = new IntPtr[cache.Count];
        var refs = new bool[cache.Count];
        try
        {
            for (var i = 0; i < cache.Count; i++)
            {
                cache[i].Handle.DangerousAddRef(ref refs[i]);
                handles[i] = cache[i].Handle.DangerousGetHandle();
            }
            fixed (IntPtr* p = handles)
            {
                XGBoostLibrary.Check(Native.XGBoosterCreate(p, (ulong)handles.Length, out var h));
                Handle = h;
            }
        }
        finally
        {
            for (var i = 0; i < cache.Count; i++) if (refs[i]) cache[i].Handle.DangerousRelease();
        }
        if (parameters is not null) foreach (var (k, v) in parameters) SetParam(k, v);
    }

    /// <summary>Loads a model file: JSON (.json) or UBJSON (.ubj), as XGBoost decides by extension.</summary>
    public static Booster Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' not found", path);
        var b = new Booster([]);
        XGBoostLibrary.Check(Native.XGBoosterLoadModel(b.Handle, path));
        return b;
    }

    /// <summary>Loads a model from bytes (JSON or UBJSON, detected by XGBoost).</summary>
    public static Booster Load(ReadOnlySpan<byte> model)
    {
        var b = new Booster([]);
        fixed (byte* p = model) XGBoostLibrary.Check(Native.XGBoosterLoadModelFromBuffer(b.Handle, p, (ulong)model.Length));
        return b;
    }

    public void SetParam(string name, string value) => XGBoostLibrary.Check(Native.XGBoosterSetParam(Handle, name, value));

    public void SetParam(string name, double value) => SetParam(name, value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>Thread count used for training and prediction (nthread); 0 means all cores.</summary>
    public void SetThreads(int nthread) => SetParam("nthread", nthread.ToString(CultureInfo.InvariantCulture));

    /// <summary>Runs boosting round <paramref name="iteration"/> on <paramref name="train"/>.</summary>
    public void UpdateOneIteration(int iteration, DMatrix train) =>
        XGBoostLibrary.Check(Native.XGBoosterUpdateOneIter(Handle, iteration, train.Handle));

    /// <summary>Evaluates the configured eval_metric(s) on named sets; returns name-metric → value, e.g. "valid-auc".</summary>
    public IReadOnlyList<(string Set, string Metric, double Value)> Evaluate(int iteration, IReadOnlyList<(string Name, DMatrix Data)> sets)
    {
        var handles = new IntPtr[sets.Count];
        var refs = new bool[sets.Count];
        using var names = new Utf8Strings(sets.Select(s => s.Name).ToList());
        string text;
        try
        {
            for (var i = 0; i < sets.Count; i++)
            {
                sets[i].Data.Handle.DangerousAddRef(ref refs[i]);
                handles[i] = sets[i].Data.Handle.DangerousGetHandle();
            }
            fixed (IntPtr* h = handles)
            fixed (IntPtr* n = names.Pointers)
            lock (_gate)
            {
                XGBoostLibrary.Check(Native.XGBoosterEvalOneIter(Handle, iteration, h, n, (ulong)sets.Count, out var result));
                text = Marshal.PtrToStringUTF8(result) ?? "";
            }
        }
        finally
        {
            for (var i = 0; i < sets.Count; i++) if (refs[i]) sets[i].Data.Handle.DangerousRelease();
        }
        return ParseEvaluation(text, sets.Select(s => s.Name).ToList());
    }

    // "[3]\ttrain-logloss:0.5\tvalid-logloss:0.6"; set names may contain '-', so match them by prefix.
    internal static IReadOnlyList<(string Set, string Metric, double Value)> ParseEvaluation(string text, IReadOnlyList<string> setNames)
    {
        var result = new List<(string, string, double)>();
        foreach (var part in text.Split('\t').Skip(1))
        {
            var colon = part.LastIndexOf(':');
            if (colon < 0) continue;
            var key = part[..colon];
            var set = setNames.Where(s => key.StartsWith(s + "-", StringComparison.Ordinal)).OrderByDescending(s => s.Length).FirstOrDefault()
                      ?? key[..Math.Max(0, key.IndexOf('-'))];
            var metric = key[(set.Length + 1)..];
            result.Add((set, metric, double.Parse(part[(colon + 1)..], CultureInfo.InvariantCulture)));
        }
        return result;
    }

    /// <summary>
    /// Predicts for every row. <paramref name="iterationEnd"/> = 0 uses all trees, otherwise trees of rounds
    /// [0, iterationEnd).
    /// </summary>
    public PredictionArray Predict(DMatrix data, PredictionKind kind = PredictionKind.Value, int iterationEnd = 0)
    {
        var config = $"{{\"type\": {(int)kind}, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": {iterationEnd}, \"strict_shape\": false}}";
        lock (_gate)
        {
            XGBoostLibrary.Check(Native.XGBoosterPredictFromDMatrix(Handle, data.Handle, config, out var shape, out var dim, out var result));
            var rows = (int)shape[0];
            var cols = 1;
            for (ulong d = 1; d < dim; d++) cols *= (int)shape[d];
            // The result buffer belongs to the booster and is overwritten by the next call: copy it out.
            var values = new ReadOnlySpan<float>(result, checked(rows * cols)).ToArray();
            return new PredictionArray(values, rows, cols);
        }
    }

    /// <summary>
    /// Predicts for a dense row-major float32 matrix in place (XGBoost's inplace_predict): no <see cref="DMatrix"/>
    /// is built, so the rows are not copied into XGBoost's sparse pages first, which cost about as much as the trees
    /// themselves on a million rows. NaN marks a missing value, as in <see cref="DMatrix.FromDense"/>; the trees are
    /// walked the same way, so the results are those of <see cref="Predict(DMatrix, PredictionKind, int)"/> bit for bit.
    /// Only values and margins: XGBoost computes contributions from a DMatrix.
    /// </summary>
    public PredictionArray Predict(ReadOnlySpan<float> values, int rows, int columns, PredictionKind kind = PredictionKind.Value, int iterationEnd = 0)
    {
        if (kind is not (PredictionKind.Value or PredictionKind.Margin))
            throw new ArgumentException($"{kind} predictions need a DMatrix; in-place prediction gives values and margins only", nameof(kind));
        if (rows < 0 || columns < 1 || (long)rows * columns != values.Length)
            throw new ArgumentException($"{values.Length} values for {rows} × {columns}");
        if (rows == 0) return new PredictionArray([], 0, 1);
        var config = $"{{\"type\": {(int)kind}, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": {iterationEnd}, \"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}}";
        fixed (float* p = values)
        {
            // NumPy's __array_interface__, as Python's inplace_predict passes it: the address, read-only, C order.
            var array = FormattableString.Invariant($"{{\"data\": [{(ulong)p}, true], \"shape\": [{rows}, {columns}], \"strides\": null, \"typestr\": \"<f4\", \"version\": 3}}");
            lock (_gate)
            {
                XGBoostLibrary.Check(Native.XGBoosterPredictFromDense(Handle, array, config, IntPtr.Zero, out var shape, out var dim, out var result));
                var n = (int)shape[0];
                var cols = 1;
                for (ulong d = 1; d < dim; d++) cols *= (int)shape[d];
                // The result buffer belongs to the booster and is overwritten by the next call: copy it out.
                return new PredictionArray(new ReadOnlySpan<float>(result, checked(n * cols)).ToArray(), n, cols);
            }
        }
    }

    /// <summary>In-place prediction of a <see cref="FeatureMatrix"/> (see <see cref="Predict(ReadOnlySpan{float}, int, int, PredictionKind, int)"/>).</summary>
    public PredictionArray Predict(FeatureMatrix features, PredictionKind kind = PredictionKind.Value, int iterationEnd = 0) =>
        Predict(features.Values, features.Rows, features.Columns, kind, iterationEnd);

    public static ModelFormat FormatOf(string path) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" => ModelFormat.Json,
            ".ubj" => ModelFormat.Ubj,
            var e => throw new ArgumentException($"model file '{path}' must end in .json or .ubj (got '{e}'); the legacy binary format is not written"),
        };

    /// <summary>Saves JSON (.json) or UBJSON (.ubj), chosen by the file extension.</summary>
    public void Save(string path)
    {
        FormatOf(path);
        XGBoostLibrary.Check(Native.XGBoosterSaveModel(Handle, path));
    }

    public byte[] SaveToBytes(ModelFormat format)
    {
        var config = format == ModelFormat.Json ? "{\"format\": \"json\"}" : "{\"format\": \"ubj\"}";
        XGBoostLibrary.Check(Native.XGBoosterSaveModelToBuffer(Handle, config, out var len, out var data));
        return new ReadOnlySpan<byte>(data, checked((int)len)).ToArray();
    }

    public int BoostedRounds
    {
        get { XGBoostLibrary.Check(Native.XGBoosterBoostedRounds(Handle, out var n)); return n; }
    }

    public int FeatureCount
    {
        get { XGBoostLibrary.Check(Native.XGBoosterGetNumFeature(Handle, out var n)); return (int)n; }
    }

    /// <summary>Keeps only the trees of rounds [0, rounds) (used after early stopping).</summary>
    public void Truncate(int rounds)
    {
        if (rounds >= BoostedRounds) return;
        XGBoostLibrary.Check(Native.XGBoosterSlice(Handle, 0, rounds, 1, out var sliced));
        var old = Handle;
        Handle = sliced;
        old.Dispose();
    }

    public void SetAttribute(string key, string? value) => XGBoostLibrary.Check(Native.XGBoosterSetAttr(Handle, key, value));

    public string? GetAttribute(string key)
    {
        XGBoostLibrary.Check(Native.XGBoosterGetAttr(Handle, key, out var value, out var ok));
        return ok != 0 ? Marshal.PtrToStringUTF8(value) : null;
    }

    public void SetFeatureNames(IReadOnlyList<string> names)
    {
        using var strings = new Utf8Strings(names);
        fixed (IntPtr* p = strings.Pointers) XGBoostLibrary.Check(Native.XGBoosterSetStrFeatureInfo(Handle, "feature_name", p, (ulong)names.Count));
    }

    /// <summary>
    /// Feature importance by <paramref name="importanceType"/> (weight, gain, total_gain, cover, total_cover), keyed
    /// by feature name (f0, f1, … when the model has no names). Features never used in a split are absent, as in Python.
    /// </summary>
    public IReadOnlyDictionary<string, double> FeatureImportance(string importanceType = "gain")
    {
        var config = new JsonObject { ["importance_type"] = importanceType, ["feature_map"] = "" }.ToJsonString();
        XGBoostLibrary.Check(Native.XGBoosterFeatureScore(Handle, config, out var n, out var features, out var dim, out var shape, out var scores));
        var perFeature = 1;
        for (ulong d = 1; d < dim; d++) perFeature *= (int)shape[d];
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < (int)n; i++)
        {
            double sum = 0;
            for (var j = 0; j < perFeature; j++) sum += scores[i * perFeature + j];
            result[Marshal.PtrToStringUTF8(features[i])!] = sum;
        }
        return result;
    }

    /// <summary>The learner's full configuration as XGBoost reports it (JSON).</summary>
    public JsonNode Configuration()
    {
        XGBoostLibrary.Check(Native.XGBoosterSaveJsonConfig(Handle, out _, out var text));
        return JsonNode.Parse(Marshal.PtrToStringUTF8(text)!)!;
    }

    public void Dispose() => Handle.Dispose();
}
