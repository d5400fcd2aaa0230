using System.Runtime.InteropServices;

namespace Pipelines.Data.Compression;

/// <summary>
/// P/Invoke bindings to the system's libzstd.so.1 and liblz4.so.1. A missing library surfaces as an
/// <see cref="InvalidOperationException"/> naming it, at the first use of that codec only.
/// </summary>
internal static class Zstd
{
    private const string Lib = "libzstd.so.1";

    [DllImport(Lib, EntryPoint = "ZSTD_decompress")] private static extern nuint Decompress(ref byte dst, nuint dstCapacity, ref byte src, nuint srcSize);
    [DllImport(Lib, EntryPoint = "ZSTD_compress")] private static extern nuint Compress(ref byte dst, nuint dstCapacity, ref byte src, nuint srcSize, int level);
    [DllImport(Lib, EntryPoint = "ZSTD_compressBound")] private static extern nuint CompressBoundNative(nuint srcSize);
    [DllImport(Lib, EntryPoint = "ZSTD_isError")] private static extern uint IsError(nuint code);
    [DllImport(Lib, EntryPoint = "ZSTD_getErrorName")] private static extern IntPtr ErrorName(nuint code);

    private static InvalidOperationException Missing(Exception e) =>
        new($"ZSTD needs the native library {Lib} (Debian package libzstd1), which could not be loaded", e);

    public static int CompressBound(int length)
    {
        try { return (int)CompressBoundNative((nuint)length); } catch (DllNotFoundException e) { throw Missing(e); }
    }

    /// <summary>Decompresses (all frames) into <paramref name="dst"/>; returns the bytes written or throws with zstd's reason.</summary>
    public static int DecompressTo(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        byte z1 = 0, z2 = 0;
        nuint code;
        try
        {
            code = Decompress(ref dst.IsEmpty ? ref z1 : ref MemoryMarshal.GetReference(dst), (nuint)dst.Length,
                ref src.IsEmpty ? ref z2 : ref MemoryMarshal.GetReference(src), (nuint)src.Length);
        }
        catch (DllNotFoundException e) { throw Missing(e); }
        if (IsError(code) != 0) throw new InvalidDataException($"zstd: {Marshal.PtrToStringAnsi(ErrorName(code))}");
        return (int)code;
    }

    public static int CompressTo(ReadOnlySpan<byte> src, Span<byte> dst, int level)
    {
        byte z = 0;
        nuint code;
        try
        {
            code = Compress(ref MemoryMarshal.GetReference(dst), (nuint)dst.Length, ref src.IsEmpty ? ref z : ref MemoryMarshal.GetReference(src), (nuint)src.Length, level);
        }
        catch (DllNotFoundException e) { throw Missing(e); }
        if (IsError(code) != 0) throw new InvalidOperationException($"zstd: {Marshal.PtrToStringAnsi(ErrorName(code))}");
        return (int)code;
    }
}

internal static class Lz4
{
    private const string Lib = "liblz4.so.1";

    [DllImport(Lib, EntryPoint = "LZ4_decompress_safe")] private static extern int DecompressSafe(ref byte src, ref byte dst, int compressedSize, int dstCapacity);
    [DllImport(Lib, EntryPoint = "LZ4_compress_default")] private static extern int CompressDefault(ref byte src, ref byte dst, int srcSize, int dstCapacity);
    [DllImport(Lib, EntryPoint = "LZ4_compressBound")] private static extern int CompressBoundNative(int inputSize);

    private static InvalidOperationException Missing(Exception e) =>
        new($"LZ4 needs the native library {Lib} (Debian package liblz4-1), which could not be loaded", e);

    /// <summary>Decompresses one raw LZ4 block; returns bytes written, or -1 when the block is malformed.</summary>
    public static int DecompressBlock(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        if (src.IsEmpty) return dst.IsEmpty ? 0 : -1;
        byte zero = 0;
        try
        {
            return DecompressSafe(ref MemoryMarshal.GetReference(src), ref dst.IsEmpty ? ref zero : ref MemoryMarshal.GetReference(dst), src.Length, dst.Length);
        }
        catch (DllNotFoundException e) { throw Missing(e); }
    }

    public static int CompressBound(int length)
    {
        try { return CompressBoundNative(length); } catch (DllNotFoundException e) { throw Missing(e); }
    }

    public static int CompressBlock(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        byte zero = 0;
        try
        {
            return CompressDefault(ref src.IsEmpty ? ref zero : ref MemoryMarshal.GetReference(src), ref MemoryMarshal.GetReference(dst), src.Length, dst.Length);
        }
        catch (DllNotFoundException e) { throw Missing(e); }
    }
}
