using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.MlNet;

/// <summary>
/// A trained ML.NET model (a transformer chain: the linear kinds' standardization, then the predictor) over the
/// <see cref="FeatureMatrixDataView"/> schema. Predicts like every model here: the probability of class 1 (binary),
/// one probability per class (multiclass), or the value (regression).
/// </summary>
public sealed class MlNetModel : ITrainedModel
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly DataViewSchema _inputSchema;

    internal MlNetModel(MLContext ml, ITransformer model, DataViewSchema inputSchema, string kind, TaskKind task, int classCount, int featureCount)
    {
        _ml = ml;
        _model = model;
        _inputSchema = inputSchema;
        Kind = kind;
        Task = task;
        ClassCount = task == TaskKind.Regression ? 1 : classCount;
        FeatureCount = featureCount;
    }

    /// <summary>lightgbm, fasttree, sdca or logistic.</summary>
    public string Kind { get; }
    public TaskKind Task { get; }
    public int ClassCount { get; }
    public int FeatureCount { get; }
    public IReadOnlyList<IterationReport> History => [];

    /// <summary>The ML.NET version that trained or loaded the model (written into the model directory).</summary>
    public string MlNetVersionOfModel => typeof(MLContext).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    internal static MLContext NewContext(int? seed)
    {
        var ml = new MLContext(seed);
        // A saved tree model names its loader; the loader's assembly must be known to the context that loads it.
        ml.ComponentCatalog.RegisterAssembly(typeof(Microsoft.ML.Trainers.LightGbm.LightGbmBinaryModelParameters).Assembly);
        ml.ComponentCatalog.RegisterAssembly(typeof(Microsoft.ML.Trainers.FastTree.FastTreeBinaryModelParameters).Assembly);
        return ml;
    }

    public Predictions Predict(FeatureMatrix features)
    {
        if (features.Columns != FeatureCount)
            throw new ArgumentException($"model has {FeatureCount} features, input has {features.Columns}");
        var scored = _model.Transform(new FeatureMatrixDataView(features));
        var n = features.Rows;
        switch (Task)
        {
            case TaskKind.BinaryClassification:
                return new Predictions(ReadScalar(scored, "Probability", n), n, 1);
            case TaskKind.Regression:
                return new Predictions(ReadScalar(scored, "Score", n), n, 1);
            default:
            {
                var column = scored.Schema["Score"];
                var values = new double[(long)n * ClassCount];
                using var cursor = scored.GetRowCursor([column]);
                var getter = cursor.GetGetter<VBuffer<float>>(column);
                var buffer = default(VBuffer<float>);
                var row = 0;
                while (cursor.MoveNext())
                {
                    getter(ref buffer);
                    var k = 0;
                    // Slot k is key k+1, which is class k (FeatureMatrixDataView's labels).
                    foreach (var v in buffer.DenseValues())
                    {
                        if (k < ClassCount) values[(long)row * ClassCount + k] = v;
                        k++;
                    }
                    row++;
                }
                return new Predictions(values, n, ClassCount);
            }
        }
    }

    private static double[] ReadScalar(IDataView scored, string name, int rows)
    {
        var column = scored.Schema[name];
        var values = new double[rows];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<float>(column);
        float v = 0;
        var i = 0;
        while (cursor.MoveNext())
        {
            getter(ref v);
            values[i++] = v;
        }
        if (i != rows) throw new InvalidOperationException($"ML.NET scored {i} rows of {rows}");
        return values;
    }

    /// <summary>Writes the model as ML.NET's zip (transformer chain plus input schema).</summary>
    public void Save(string path) => _ml.Model.Save(_model, _inputSchema, path);

    /// <summary>Loads a zip written by <see cref="Save"/>; the kind, task and class count come from the model directory.</summary>
    public static MlNetModel Load(string path, string kind, TaskKind task, int classCount)
    {
        var ml = NewContext(seed: 0);
        ITransformer model;
        DataViewSchema schema;
        using (var stream = File.OpenRead(path)) model = ml.Model.Load(stream, out schema);
        var features = schema.GetColumnOrNull(FeatureMatrixDataView.FeaturesColumn)?.Type as VectorDataViewType
                       ?? throw new InvalidDataException($"'{path}': the ML.NET model's input has no '{FeatureMatrixDataView.FeaturesColumn}' vector column");
        return new MlNetModel(ml, model, schema, kind, task, classCount, features.Size);
    }

    public void Dispose() => (_model as IDisposable)?.Dispose();
}
