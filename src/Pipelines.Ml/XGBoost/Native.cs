using System.Reflection;
using System.Runtime.InteropServices;

namespace Pipelines.Ml.XGBoost;

/// <summary>Raised when libxgboost cannot be loaded; the message says how to install it.</summary>
public sealed class XGBoostUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An error returned by the XGBoost C API (the text of <c>XGBGetLastError</c>).</summary>
public sealed class XGBoostException(string message) : Exception(message);

/// <summary>
/// Finds and loads the native library once. The C API is reached through <see cref="Native"/>, whose
/// imports resolve to the handle loaded here; every public entry point calls <see cref="EnsureLoaded"/> first
/// so a missing library surfaces as one clear <see cref="XGBoostUnavailableException"/>, not a DllNotFoundException.
/// </summary>
public static class XGBoostLibrary
{
    internal const string Name = "xgboost";

    /// <summary>Overrides the search (a full path to libxgboost.so).</summary>
    public const string PathVariable = "PIPELINES_XGBOOST_LIB";

    private static readonly Lazy<IntPtr> Handle = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    static XGBoostLibrary()
    {
        NativeLibrary.SetDllImportResolver(typeof(XGBoostLibrary).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == Name ? Handle.Value : IntPtr.Zero;

    private static IntPtr Load()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } explicitPath) candidates.Add(explicitPath);
        candidates.AddRange(OperatingSystem.IsWindows() ? ["xgboost.dll"]
            : OperatingSystem.IsMacOS() ? ["libxgboost.dylib"]
            // Debian's libxgboost0 ships only the versioned name (libxgboost.so.0); a source build installs libxgboost.so.
            : ["libxgboost.so", "libxgboost.so.0", "/usr/lib/x86_64-linux-gnu/libxgboost.so.0", "/usr/lib/aarch64-linux-gnu/libxgboost.so.0"]);
        return LoadFrom(candidates);
    }

    /// <summary>Loads the first candidate that exists, or throws the install message naming every path tried.</summary>
    internal static IntPtr LoadFrom(IReadOnlyList<string> candidates)
    {
        var errors = new List<string>();
        foreach (var c in candidates)
        {
            if (NativeLibrary.TryLoad(c, out var h)) return h;
            errors.Add(c);
        }
        throw new XGBoostUnavailableException(
            "The XGBoost native library (libxgboost) was not found. Install it with `apt-get install libxgboost0` " +
            $"(Debian/Ubuntu), or set {PathVariable} to the full path of libxgboost.so. Tried: {string.Join(", ", errors)}.");
    }

    /// <summary>Loads the library or throws <see cref="XGBoostUnavailableException"/>.</summary>
    public static void EnsureLoaded() => _ = Handle.Value;

    /// <summary>The native library's version, e.g. 1.7.4.</summary>
    public static Version Version
    {
        get
        {
            EnsureLoaded();
            Native.XGBoostVersion(out var major, out var minor, out var patch);
            return new Version(major, minor, patch);
        }
    }

    internal static void Check(int rc)
    {
        if (rc != 0) throw new XGBoostException(Marshal.PtrToStringUTF8(Native.XGBGetLastError()) ?? "unknown XGBoost error");
    }
}

/// <summary>The subset of the XGBoost C API (c_api.h, 1.7) that we use. bst_ulong is uint64.</summary>
internal static unsafe class Native
{
    private const string L = XGBoostLibrary.Name;

    [DllImport(L)] public static extern IntPtr XGBGetLastError();
    [DllImport(L)] public static extern void XGBoostVersion(out int major, out int minor, out int patch);

    [DllImport(L)] public static extern int XGDMatrixCreateFromMat_omp(float* data, ulong nrow, ulong ncol, float missing, out DMatrixHandle handle, int nthread);
    [DllImport(L)] public static extern int XGDMatrixFree(IntPtr handle);
    [DllImport(L)] public static extern int XGDMatrixNumRow(DMatrixHandle handle, out ulong rows);
    [DllImport(L)] public static extern int XGDMatrixNumCol(DMatrixHandle handle, out ulong cols);
    [DllImport(L)] public static extern int XGDMatrixSetFloatInfo(DMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, float* array, ulong len);
    [DllImport(L)] public static extern int XGDMatrixSetStrFeatureInfo(DMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, IntPtr* features, ulong size);

    [DllImport(L)] public static extern int XGBoosterCreate(IntPtr* dmats, ulong len, out BoosterHandle handle);
    [DllImport(L)] public static extern int XGBoosterFree(IntPtr handle);
    [DllImport(L)] public static extern int XGBoosterSetParam(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value);
    [DllImport(L)] public static extern int XGBoosterUpdateOneIter(BoosterHandle handle, int iter, DMatrixHandle dtrain);
    [DllImport(L)] public static extern int XGBoosterEvalOneIter(BoosterHandle handle, int iter, IntPtr* dmats, IntPtr* names, ulong len, out IntPtr result);
    [DllImport(L)] public static extern int XGBoosterPredictFromDMatrix(BoosterHandle handle, DMatrixHandle dmat, [MarshalAs(UnmanagedType.LPUTF8Str)] string config,
        out ulong* shape, out ulong dim, out float* result);
    [DllImport(L)] public static extern int XGBoosterPredictFromDense(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string arrayInterface,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string config, IntPtr proxy, out ulong* shape, out ulong dim, out float* result);
    [DllImport(L)] public static extern int XGBoosterSaveModel(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string fname);
    [DllImport(L)] public static extern int XGBoosterLoadModel(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string fname);
    [DllImport(L)] public static extern int XGBoosterSaveModelToBuffer(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, out ulong len, out byte* data);
    [DllImport(L)] public static extern int XGBoosterLoadModelFromBuffer(BoosterHandle handle, byte* data, ulong len);
    [DllImport(L)] public static extern int XGBoosterBoostedRounds(BoosterHandle handle, out int rounds);
    [DllImport(L)] public static extern int XGBoosterGetNumFeature(BoosterHandle handle, out ulong n);
    [DllImport(L)] public static extern int XGBoosterSlice(BoosterHandle handle, int begin, int end, int step, out BoosterHandle sliced);
    [DllImport(L)] public static extern int XGBoosterSetAttr(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, [MarshalAs(UnmanagedType.LPUTF8Str)] string? value);
    [DllImport(L)] public static extern int XGBoosterGetAttr(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, out IntPtr value, out int success);
    [DllImport(L)] public static extern int XGBoosterSetStrFeatureInfo(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, IntPtr* features, ulong size);
    [DllImport(L)] public static extern int XGBoosterFeatureScore(BoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string config,
        out ulong nFeatures, out IntPtr* features, out ulong dim, out ulong* shape, out float* scores);
    [DllImport(L)] public static extern int XGBoosterSaveJsonConfig(BoosterHandle handle, out ulong len, out IntPtr config);
}

/// <summary>Owns a DMatrixHandle; freed exactly once, also when a finalizer runs.</summary>
public sealed class DMatrixHandle() : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Native.XGDMatrixFree(handle) == 0;
}

/// <summary>Owns a BoosterHandle; freed exactly once, also when a finalizer runs.</summary>
public sealed class BoosterHandle() : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle() => Native.XGBoosterFree(handle) == 0;
}
