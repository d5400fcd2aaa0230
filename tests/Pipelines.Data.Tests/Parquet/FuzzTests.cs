using System.Diagnostics;
using Pipelines.Data.Parquet;

namespace Pipelines.Data.Tests.Parquet;

/// <summary>
/// Mutates valid files (bit flips, byte overwrites, truncation, splices) and demands that the reader either
/// succeeds or throws one of its documented exceptions: never another exception, a hang or a huge allocation.
/// Fixed seed and a bounded number of cases, so a failure reproduces.
/// </summary>
public class FuzzTests
{
    private const int Seed = 20261121;
    // PIPELINES_FUZZ_CASES raises the count for a longer local run; the default keeps the suite fast.
    private static readonly int MutationsPerFile = int.TryParse(Environment.GetEnvironmentVariable("PIPELINES_FUZZ_CASES"), out var n) ? n : 300;

    /// <summary>True when the file read completely; false when rejected with a documented exception; <paramref name="unexpected"/> otherwise.</summary>
    public static bool ReadsFully(byte[] data, out Exception? unexpected)
    {
        unexpected = null;
        try
        {
            using var reader = new ParquetReader(new MemoryStream(data, writable: false));
            var flat = reader.Columns.Where(c => !c.IsNested && c.Field is not null).Select(c => c.Name).ToList();
            foreach (var batch in reader.ReadRowGroups(flat))
                for (var c = 0; c < batch.Columns.Count; c++)
                    for (var r = 0; r < batch.RowCount; r++) batch.Columns[c].Format(r);
            return true;
        }
        catch (ParquetFormatException) { return false; }
        catch (ParquetNotSupportedException) { return false; }
        catch (Exception e) { unexpected = e; return false; }
    }

    public static byte[] Mutate(byte[] original, Random rnd)
    {
        var data = (byte[])original.Clone();
        switch (rnd.Next(5))
        {
            case 0: // flip a few bits
                for (var i = rnd.Next(1, 9); i > 0; i--) data[rnd.Next(data.Length)] ^= (byte)(1 << rnd.Next(8));
                break;
            case 1: // overwrite a run with random or extreme bytes
            {
                var at = rnd.Next(data.Length);
                var len = Math.Min(rnd.Next(1, 16), data.Length - at);
                var fill = rnd.Next(3);
                for (var i = 0; i < len; i++) data[at + i] = fill switch { 0 => 0xFF, 1 => 0x00, _ => (byte)rnd.Next(256) };
                break;
            }
            case 2: // truncate, keeping a valid-looking tail so the footer is parsed from a shifted place
            {
                var cut = rnd.Next(1, Math.Max(2, data.Length / 4));
                var shorter = new byte[data.Length - cut];
                Array.Copy(data, shorter, shorter.Length - 8);
                Array.Copy(data, data.Length - 8, shorter, shorter.Length - 8, 8);
                return shorter;
            }
            case 3: // corrupt inside the footer, where the metadata lives
            {
                var footerLength = BitConverter.ToInt32(data, data.Length - 8);
                var start = Math.Max(4, data.Length - 8 - Math.Clamp(footerLength, 1, data.Length - 12));
                for (var i = rnd.Next(1, 5); i > 0; i--) data[rnd.Next(start, data.Length - 8)] = (byte)rnd.Next(256);
                break;
            }
            default: // plain truncation
                return data[..rnd.Next(0, data.Length)];
        }
        return data;
    }

    [Test]
    public void MutatedFiles_FailOnlyWithFormatErrors()
    {
        var files = Directory.GetFiles(Path.Combine(DuckDbPeer.ParquetTesting, "data"), "*.parquet").Order()
            .Select(f => (Name: Path.GetFileName(f), Bytes: File.ReadAllBytes(f))).ToList();
        // Our own files too: dictionary pages, nulls, every codec we write.
        foreach (var codec in new[] { CompressionCodec.Snappy, CompressionCodec.Zstd, CompressionCodec.Gzip, CompressionCodec.Uncompressed })
        {
            var ms = new MemoryStream();
            using (var w = new ParquetWriter(ms, TestTables.AllTypes(300, 3).Schema, new ParquetWriterOptions { Codec = codec, MaxRowGroupRows = 150, WritePageChecksums = codec == CompressionCodec.Uncompressed }, leaveOpen: true))
                w.Write(TestTables.AllTypes(300, 3));
            files.Add(($"ours-{codec}", ms.ToArray()));
        }
        var rnd = new Random(Seed);
        var watch = Stopwatch.StartNew();
        var cases = 0;
        var failures = new List<string>();
        var survived = 0;
        foreach (var (file, original) in files)
        {
            for (var m = 0; m < MutationsPerFile; m++)
            {
                var mutated = Mutate(original, rnd);
                var caseWatch = Stopwatch.StartNew();
                if (ReadsFully(mutated, out var e)) survived++;
                if (e is not null) failures.Add($"{file} #{m}: {e!.GetType().Name}: {e.Message}\n{e.StackTrace?.Split('\n').FirstOrDefault()}");
                // Not a speed check: a mutated file must never make the reader hang.
                if (caseWatch.Elapsed > TimeSpan.FromSeconds(5)) failures.Add($"{file} #{m}: took {caseWatch.Elapsed}");
                cases++;
            }
        }
        TestContext.Out.WriteLine($"{cases} cases in {watch.Elapsed}, {survived} read fully, the rest rejected with format errors");
        Assert.That(cases, Is.EqualTo(files.Count * MutationsPerFile));
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }
}
