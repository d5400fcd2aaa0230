using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Csv;

public class CsvWriterTests
{
    [Test]
    public void WrittenCsv_ReadsBackToTheSameValues()
    {
        var s = new BinaryBuilder(DataType.String);
        var n = new PrimitiveBuilder<long>(DataType.Int64);
        string?[] texts = ["plain", "with,comma", "with \"quotes\"", "multi\nline", " padded ", null, "last"];
        for (var i = 0; i < texts.Length; i++)
        {
            if (texts[i] is { } t) s.Append(t); else s.AppendNull();
            if (i == 3) n.AppendNull(); else n.Append(i * 10_000_000_000L);
        }
        var table = new Table(new Schema([new Field("s", DataType.String), new Field("n", DataType.Int64)]), [s.Build(), n.Build()]);
        var text = new StringWriter();
        using (var w = new CsvWriter(text)) w.Write(table);
        var back = CsvReader.Read(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text.ToString()))).Table;
        Assert.That(back.Schema, Is.EqualTo(table.Schema));
        for (var r = 0; r < table.RowCount; r++)
        {
            Assert.That(back["s"].GetValue(r), Is.EqualTo(table["s"].GetValue(r)), $"row {r}");
            Assert.That(back["n"].GetValue(r), Is.EqualTo(table["n"].GetValue(r)), $"row {r}");
        }
    }

    /// <summary>
    /// Numbers are formatted straight into the writer's buffer; the text must be what the row-by-row writer produced
    /// from <see cref="Column.Format"/>, including quoting when the delimiter is a character numbers contain.
    /// </summary>
    [TestCase(',')]
    [TestCase('.')]
    [TestCase('E')]
    [TestCase('-')]
    [TestCase('\t')]
    public void Numbers_AreWrittenAsColumnFormatShowsThem_QuotedWhenTheyHoldTheDelimiter(char delimiter)
    {
        var rng = new Random(delimiter);
        const int rows = 2_000;
        var f64 = new PrimitiveBuilder<double>(DataType.Float64);
        var f32 = new PrimitiveBuilder<float>(DataType.Float32);
        var i32 = new PrimitiveBuilder<int>(DataType.Int32);
        var i64 = new PrimitiveBuilder<long>(DataType.Int64);
        var day = new PrimitiveBuilder<int>(DataType.Date);
        var text = new BinaryBuilder(DataType.String);
        double[] specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0, 1e-300, double.Epsilon, double.MaxValue, 1e21, 123456789012345678];
        for (var r = 0; r < rows; r++)
        {
            if (r % 7 == 0) f64.AppendNull();
            else f64.Append(r % 5 == 0 ? specials[rng.Next(specials.Length)] : (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30)));
            if (r % 11 == 0) f32.AppendNull(); else f32.Append((float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-10, 10))));
            if (r % 13 == 0) i32.AppendNull(); else i32.Append(rng.Next(int.MinValue, int.MaxValue));
            i64.Append(rng.NextInt64(long.MinValue, long.MaxValue));
            day.Append(rng.Next(0, 20_000));
            text.Append(r % 3 == 0 ? $"a{delimiter}b \"{r}\"" : $"t{r}");
        }
        var table = new Table(new Schema([new Field("f64", DataType.Float64), new Field("f32", DataType.Float32), new Field("i32", DataType.Int32),
            new Field("i64", DataType.Int64), new Field("day", DataType.Date), new Field("text", DataType.String)]),
            [f64.Build(), f32.Build(), i32.Build(), i64.Build(), day.Build(), text.Build()]);

        var written = new StringWriter();
        using (var w = new CsvWriter(written, delimiter)) w.Write(table);

        string Quote(string v) =>
            v.Length == 0 || v.IndexOfAny([delimiter, '"', '\n', '\r']) >= 0 || v != v.Trim() ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
        var expected = new System.Text.StringBuilder(string.Join(delimiter, table.Schema.Fields.Select(f => Quote(f.Name)))).Append('\n');
        for (var r = 0; r < rows; r++)
            expected.Append(string.Join(delimiter, table.Columns.Select(c => c.Format(r) is { } v ? Quote(v) : ""))).Append('\n');
        Assert.That(written.ToString(), Is.EqualTo(expected.ToString()));
    }
}
