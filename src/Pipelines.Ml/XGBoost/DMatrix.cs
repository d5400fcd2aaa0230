using System.Runtime.InteropServices;

namespace Pipelines.Ml.XGBoost;

/// <summary>XGBoost's data matrix, built from a dense row-major float matrix where NaN means missing.</summary>
public sealed unsafe class DMatrix : IDisposable
{
    internal DMatrixHandle Handle { get; }

    private DMatrix(DMatrixHandle handle) => Handle = handle;

    /// <summary>Copies <paramref name="rowMajor"/> (rows × cols) into a new matrix; NaN cells are missing values.</summary>
    public static DMatrix FromDense(ReadOnlySpan<float> rowMajor, int rows, int cols, int nthread = 0)
    {
        XGBoostLibrary.EnsureLoaded();
        if ((long)rows * cols != rowMajor.Length) throw new ArgumentException($"matrix has {rowMajor.Length} cells, expected {rows} × {cols}");
        fixed (float* p = rowMajor)
        {
            XGBoostLibrary.Check(Native.XGDMatrixCreateFromMat_omp(p, (ulong)rows, (ulong)cols, float.NaN, out var h, nthread));
            return new DMatrix(h);
        }
    }

    public static DMatrix FromFeatures(FeatureMatrix x, int nthread = 0)
    {
        var m = FromDense(x.Values, x.Rows, x.Columns, nthread);
        if (x.Names.Count > 0) m.SetFeatureNames(x.Names);
        return m;
    }

    public long Rows
    {
        get { XGBoostLibrary.Check(Native.XGDMatrixNumRow(Handle, out var n)); return (long)n; }
    }

    public long Columns
    {
        get { XGBoostLibrary.Check(Native.XGDMatrixNumCol(Handle, out var n)); return (long)n; }
    }

    public void SetLabels(ReadOnlySpan<float> labels) => SetFloatInfo("label", labels);
    public void SetWeights(ReadOnlySpan<float> weights) => SetFloatInfo("weight", weights);
    public void SetBaseMargin(ReadOnlySpan<float> margin) => SetFloatInfo("base_margin", margin);

    private void SetFloatInfo(string field, ReadOnlySpan<float> values)
    {
        if (values.Length != Rows) throw new ArgumentException($"{field} has {values.Length} values for {Rows} rows");
        fixed (float* p = values) XGBoostLibrary.Check(Native.XGDMatrixSetFloatInfo(Handle, field, p, (ulong)values.Length));
    }

    public void SetFeatureNames(IReadOnlyList<string> names)
    {
        if (names.Count != Columns) throw new ArgumentException($"{names.Count} feature names for {Columns} columns");
        using var strings = new Utf8Strings(names);
        fixed (IntPtr* p = strings.Pointers) XGBoostLibrary.Check(Native.XGDMatrixSetStrFeatureInfo(Handle, "feature_name", p, (ulong)names.Count));
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>NUL-terminated UTF-8 copies of strings in unmanaged memory, freed on dispose.</summary>
internal sealed class Utf8Strings : IDisposable
{
    public IntPtr[] Pointers { get; }

    public Utf8Strings(IReadOnlyList<string> values)
    {
        Pointers = new IntPtr[values.Count];
        try
        {
            for (var i = 0; i < values.Count; i++) Pointers[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        for (var i = 0; i < Pointers.Length; i++)
        {
            if (Pointers[i] != IntPtr.Zero) Marshal.FreeCoTaskMem(Pointers[i]);
            Pointers[i] = IntPtr.Zero;
        }
    }
}
