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
}
