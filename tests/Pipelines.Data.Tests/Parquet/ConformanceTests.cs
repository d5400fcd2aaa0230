using Pipelines.Data.Parquet;

namespace Pipelines.Data.Tests.Parquet;

/// <summary>Every file of apache/parquet-testing that we were given, against DuckDB's reading of it.</summary>
public class ConformanceTests
{
    // DuckDB does not verify page CRCs and reads this file; the checksum is wrong on purpose.
    private static readonly Dictionary<string, string> MustFailWithFormatError = new()
    {
        ["datapage_v1-corrupt-checksum.parquet"] = "checksum",
    };

    // DuckDB cannot read the (Hadoop) LZ4 codec. Upstream wrote these files with the same table as
    // lz4_raw_compressed.parquet, which DuckDB does read, so that file's DuckDB values are the reference.
    private static readonly Dictionary<string, string> ReferenceFile = new()
    {
        ["hadoop_lz4_compressed.parquet"] = "lz4_raw_compressed.parquet",
        ["non_hadoop_lz4_compressed.parquet"] = "lz4_raw_compressed.parquet",
    };

    public static IEnumerable<string> DataFiles() =>
        Directory.GetFiles(Path.Combine(DuckDbPeer.ParquetTesting, "data"), "*.parquet").Select(Path.GetFileName).Order()!;

    public static IEnumerable<string> BadFiles() =>
        Directory.GetFiles(Path.Combine(DuckDbPeer.ParquetTesting, "bad_data"), "*.parquet").Select(Path.GetFileName).Order()!;

    [TestCaseSource(nameof(DataFiles))]
    public void DataFile_ReadsTheValuesDuckDbReads(string name)
    {
        var path = Path.Combine(DuckDbPeer.ParquetTesting, "data", name);
        using var reader = ParquetReader.Open(path);
        if (MustFailWithFormatError.TryGetValue(name, out var why))
        {
            var ex = Assert.Throws<ParquetFormatException>(() => reader.ReadAll(reader.Schema.Fields.Select(f => f.Name).ToList()));
            Assert.That(ex!.Message, Does.Contain(why));
            Assert.That(ex.Offset, Is.GreaterThan(0));
            return;
        }
        var expected = DuckDbPeer.Dump(ReferenceFile.TryGetValue(name, out var reference) ? Path.Combine(Path.GetDirectoryName(path)!, reference) : path);
        Assert.That(reader.Columns.Select(c => c.Name), Is.EqualTo(expected.Select(c => c.Name)), "top-level columns");
        foreach (var column in expected)
        {
            if (column.Nested)
            {
                var ex = Assert.Throws<ParquetNotSupportedException>(() => reader.ReadAll([column.Name]));
                Assert.That(ex!.Message, Does.Contain($"column {column.Name} is nested"));
                continue;
            }
            var table = reader.ReadAll([column.Name]);
            DuckDbPeer.AssertColumnMatches(column, table.Columns[0], name);
        }
    }

    // Files Parquet.Net 6.1.0 does not read (or reads differently) and why; every other data file must read the same.
    private static readonly Dictionary<string, string> ParquetNetCannotRead = new()
    {
        ["float16_nonzeros_and_nans.parquet"] = "its typed read throws NotSupportedException (type System.Half is not supported)",
        ["rle_boolean_encoding.parquet"] = "throws InvalidDataException on the file's gzip pages (DuckDB reads them, checked above)",
    };

    [TestCaseSource(nameof(DataFiles))]
    public void DataFile_ReadsTheValuesParquetNetReads(string name)
    {
        if (MustFailWithFormatError.ContainsKey(name)) return; // covered above
        var path = Path.Combine(DuckDbPeer.ParquetTesting, "data", name);
        if (ParquetNetCannotRead.TryGetValue(name, out var why)) Assert.Ignore($"Parquet.Net: {why}");
        using var reader = ParquetReader.Open(path);
        // Like DuckDB, Parquet.Net cannot read the Hadoop LZ4 framing: the same table's lz4_raw file is the reference.
        var expected = ParquetNetPeer.Read(ReferenceFile.TryGetValue(name, out var reference) ? Path.Combine(Path.GetDirectoryName(path)!, reference) : path);
        Assert.That(reader.Columns.Select(c => c.Name), Is.EqualTo(expected.Select(c => c.Name)), "top-level columns");
        foreach (var column in expected.Where(c => !c.Nested))
        {
            var table = reader.ReadAll([column.Name]);
            ParquetNetPeer.AssertColumnMatches(column, table.Columns[0], name);
        }
    }

    [TestCase("delta_binary_packed")]
    [TestCase("delta_byte_array")]
    [TestCase("delta_encoding_required_column")]
    public void DataFile_MatchesItsExpectCsv(string name)
    {
        var dir = Path.Combine(DuckDbPeer.ParquetTesting, "data");
        var expected = Pipelines.Data.Csv.CsvReader.Read(Path.Combine(dir, name + "_expect.csv"), new Pipelines.Data.Csv.CsvOptions { TrimWhitespace = false }).Table;
        using var reader = ParquetReader.Open(Path.Combine(dir, name + ".parquet"));
        var actual = reader.ReadAll();
        Assert.That(actual.RowCount, Is.EqualTo(expected.RowCount));
        Assert.That(actual.Columns, Has.Count.EqualTo(expected.Columns.Count));
        for (var c = 0; c < actual.Columns.Count; c++)
            for (var r = 0; r < actual.RowCount; r++)
            {
                var e = expected.Columns[c].Format(r);
                var a = actual.Columns[c].Type.Kind == Pipelines.Data.Tables.TypeKind.Binary
                    ? System.Text.Encoding.UTF8.GetString(((Pipelines.Data.Tables.BinaryColumn)actual.Columns[c]).GetBytes(r))
                    : actual.Columns[c].Format(r);
                if (actual.Columns[c].IsNull(r)) a = null;
                if (e != a) Assert.Fail($"{name}: column {reader.Schema[c].Name} row {r}: expected '{e}', read '{a}'");
            }
    }

    [TestCaseSource(nameof(BadFiles))]
    public void BadDataFile_RaisesFormatError(string name)
    {
        var path = Path.Combine(DuckDbPeer.ParquetTesting, "bad_data", name);
        var ex = Assert.Throws<ParquetFormatException>(() =>
        {
            using var reader = ParquetReader.Open(path);
            reader.ReadAll(reader.Columns.Where(c => !c.IsNested).Select(c => c.Name).ToList());
        });
        TestContext.Out.WriteLine(ex!.Message);
        Assert.That(ex.Offset, Is.GreaterThanOrEqualTo(0));
    }
}
