using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.MlNet;

/// <summary>
/// ML.NET's <see cref="IDataView"/> over a <see cref="FeatureMatrix"/> and its labels and weights, read in place:
/// a cursor's getters copy a row's features straight from the matrix into the caller's reused
/// <see cref="VBuffer{T}"/>, so no object is made per row (ML.NET's own <c>LoadFromEnumerable</c> would need one
/// instance of a row class per row, plus reflection to read it).
/// </summary>
/// <remarks>
/// Columns: <c>Features</c> (vector of float32, NaN = missing), and when labels are given <c>Label</c> — Boolean for
/// binary, Key&lt;UInt32&gt; of the class count for multiclass (key k+1 is class k; 0 would be missing), float32 for
/// regression — and <c>Weight</c> (float32) when weights are given. Shuffling is supported (trainers such as SDCA ask
/// for it): a shuffled cursor visits the rows in a permutation drawn from the caller's random source.
/// </remarks>
public sealed class FeatureMatrixDataView : IDataView
{
    public const string FeaturesColumn = "Features";
    public const string LabelColumn = "Label";
    public const string WeightColumn = "Weight";

    private readonly FeatureMatrix _features;
    private readonly double[]? _labels;
    private readonly double[]? _weights;
    private readonly TaskKind _task;
    private readonly int _classCount;

    /// <param name="labels">Class indices 0..k-1 (binary: 0/1) or regression values; null for scoring.</param>
    public FeatureMatrixDataView(FeatureMatrix features, double[]? labels = null, TaskKind task = TaskKind.BinaryClassification, int classCount = 2, double[]? weights = null)
    {
        if (labels is not null && labels.Length != features.Rows) throw new ArgumentException($"{labels.Length} labels for {features.Rows} rows");
        if (weights is not null && weights.Length != features.Rows) throw new ArgumentException($"{weights.Length} weights for {features.Rows} rows");
        if (weights is not null && labels is null) throw new ArgumentException("weights need labels");
        _features = features;
        _labels = labels;
        _weights = weights;
        _task = task;
        _classCount = classCount;
        var builder = new DataViewSchema.Builder();
        var slotNames = new DataViewSchema.Annotations.Builder();
        if (features.Names.Count == features.Columns)
        {
            // Feature names travel with the model (ML.NET shows them in feature importance and saved models).
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> names = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            {
                var editor = VBufferEditor.Create(ref dst, features.Columns);
                for (var j = 0; j < features.Columns; j++) editor.Values[j] = features.Names[j].AsMemory();
                dst = editor.Commit();
            };
            slotNames.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, features.Columns), names);
        }
        builder.AddColumn(FeaturesColumn, new VectorDataViewType(NumberDataViewType.Single, features.Columns), slotNames.ToAnnotations());
        if (labels is not null)
            builder.AddColumn(LabelColumn, task switch
            {
                TaskKind.BinaryClassification => BooleanDataViewType.Instance,
                TaskKind.MulticlassClassification => new KeyDataViewType(typeof(uint), classCount),
                _ => NumberDataViewType.Single,
            });
        if (weights is not null) builder.AddColumn(WeightColumn, NumberDataViewType.Single);
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }
    public bool CanShuffle => true;
    public long? GetRowCount() => _features.Rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = new bool[Schema.Count];
        foreach (var c in columnsNeeded) active[c.Index] = true;
        int[]? order = null;
        if (rand is not null)
        {
            order = Enumerable.Range(0, _features.Rows).ToArray();
            rand.Shuffle(order);
        }
        return new Cursor(this, active, order);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(FeatureMatrixDataView view, bool[] active, int[]? order) : DataViewRowCursor
    {
        private long _position = -1;
        private int _row = -1;

        public override DataViewSchema Schema => view.Schema;
        public override long Position => _position;
        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_position + 1 >= view._features.Rows)
            {
                _position = view._features.Rows;
                _row = -1;
                return false;
            }
            _position++;
            _row = order?[_position] ?? (int)_position;
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)Row(), 0);

        private int Row() => _row >= 0 ? _row : throw new InvalidOperationException("the cursor is not on a row (call MoveNext first)");

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active[column.Index]) throw new InvalidOperationException($"column '{column.Name}' was not requested from this cursor");
            Delegate getter = column.Name switch
            {
                FeaturesColumn => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var editor = VBufferEditor.Create(ref dst, view._features.Columns);
                    view._features.Row(Row()).CopyTo(editor.Values);
                    dst = editor.Commit();
                }),
                LabelColumn => view._task switch
                {
                    TaskKind.BinaryClassification => (ValueGetter<bool>)((ref bool v) => v = view._labels![Row()] != 0),
                    TaskKind.MulticlassClassification => (ValueGetter<uint>)((ref uint v) => v = (uint)view._labels![Row()] + 1),
                    _ => (ValueGetter<float>)((ref float v) => v = (float)view._labels![Row()]),
                },
                WeightColumn => (ValueGetter<float>)((ref float v) => v = (float)view._weights![Row()]),
                _ => throw new ArgumentOutOfRangeException(nameof(column), $"no column '{column.Name}'"),
            };
            return getter as ValueGetter<TValue>
                   ?? throw new InvalidOperationException($"column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}");
        }
    }
}
