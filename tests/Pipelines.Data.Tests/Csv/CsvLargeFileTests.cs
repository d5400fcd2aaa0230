using System.Globalization;
using System.Text;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Csv;

/// <summary>
/// A few MB of rows full of the hard cases (quoted delimiters, doubled quotes, CRLF and LF endings, line breaks
/// inside quotes, one of them exactly at the reader's first buffer boundary, padded and null fields, numbers in
/// every spelling), read back and checked value by value against what the generator wrote. The expected values
/// are the ones the previous field-by-field reader produced: strings undoubled and trimmed, numbers as
/// <see cref="double.Parse(string, NumberStyles, IFormatProvider)"/> reads their text.
/// </summary>
public class CsvLargeFileTests
{
    private sealed record Row(int Id, string Text, string? Word, string? Number, long Line);

    private static readonly string[] Numbers =
    [
        "0", "-0", "1.5", "-2.25", ".5", "5.", "+7", "1e5", "1E-5", "-3.4e+2", "0.1", "0.30000000000000004", "123456789012345678",
        "1.7976931348623157E+308", "4.9E-324", "9007199254740993", "2.2250738585072014E-308", "0.000001234", "1e22", "1e23", "NaN", "-Infinity",
        " 42 ", "6.02214076e23", "3.14159265358979",
    ];

    private static (string Text, List<Row> Rows) Generate(int minChars)
    {
        var rng = new Random(3);
        var sb = new StringBuilder("id,text,word,number\r\n");
        var rows = new List<Row>();
        var line = 2L;
        var boundaryPlaced = false;
        for (var id = 0; sb.Length < minChars; id++)
        {
            string text, cell;
            if (!boundaryPlaced && sb.Length > CsvRecordReader.BufferChars - 200)
            {
                // A quoted field whose CRLF sits exactly at the first refill of the reader's buffer.
                var prefix = $"{id},\"";
                var pad = new string('x', CsvRecordReader.BufferChars - sb.Length - prefix.Length - 1);
                text = pad + "\r\nafter the boundary, \"quoted\"";
                boundaryPlaced = true;
            }
            else
            {
                text = rng.Next(6) switch
                {
                    0 => $"plain {id}",
                    1 => $"comma, inside {id}",
                    2 => $"say \"hi\" {id}",
                    3 => $"two\nlines {id}",
                    4 => $"crlf\r\nin quotes, \"and\" more {id}",
                    _ => "",
                };
            }
            var quoted = text.Length == 0 || text.IndexOfAny([',', '"', '\n', '\r']) >= 0;
            cell = quoted ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
            var word = rng.Next(5) == 0 ? null : $"w{rng.Next(100)}";
            var wordCell = word is null ? "" : (rng.Next(2) == 0 ? $"  {word}\t" : word);
            var number = rng.Next(8) == 0 ? null : Numbers[rng.Next(Numbers.Length)];
            sb.Append(id).Append(',').Append(cell).Append(',').Append(wordCell).Append(',').Append(number).Append(id % 3 == 0 ? "\r\n" : "\n");
            rows.Add(new Row(id, text, word, number, line));
            line += 1 + text.Count(c => c == '\n');
        }
        return (sb.ToString(), rows);
    }

    [Test]
    public void LargeFileWithTrickyFields_ReadsEveryValueAsWritten()
    {
        var (text, expected) = Generate(3_000_000);
        Assert.That(text.Length, Is.GreaterThan(2 * CsvRecordReader.BufferChars));

        var table = CsvReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text))).Table;

        Assert.That(table.Schema.Fields.Select(f => f.Type), Is.EqualTo(new[] { DataType.Int32, DataType.String, DataType.String, DataType.Float64 }));
        Assert.That(table.RowCount, Is.EqualTo(expected.Count));
        for (var r = 0; r < expected.Count; r++)
        {
            var e = expected[r];
            Assert.That(table["id"].GetValue(r), Is.EqualTo(e.Id), $"row {r}");
            // The generator quotes empty text, and a quoted empty field is a value, not null.
            Assert.That(table["text"].GetValue(r), Is.EqualTo(e.Text), $"row {r}");
            Assert.That(table["word"].GetValue(r), Is.EqualTo(e.Word), $"row {r}");
            var number = e.Number is null ? (double?)null : double.Parse(e.Number, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.That(table["number"].GetValue(r), Is.EqualTo(number), $"row {r} '{e.Number}'");
        }
    }

    [Test]
    public void LargeFileWithTrickyFields_ReportsTheLineOfABadRowAfterQuotedLineBreaks()
    {
        var (text, expected) = Generate(1_500_000);
        text += "oops,x,y,1\n";
        var options = new CsvOptions { BadRows = BadRowPolicy.Skip };
        var inferred = CsvReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), options);
        Assert.That(inferred.Table["id"].Type, Is.EqualTo(DataType.String), "inference sees the last row too");

        var typed = CsvReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)),
            options with { ColumnTypes = new Dictionary<string, DataType> { ["id"] = DataType.Int32 } });

        var last = expected[^1];
        var lastLine = last.Line + last.Text.Count(c => c == '\n') + 1;
        Assert.That(typed.Table.RowCount, Is.EqualTo(expected.Count));
        Assert.That(typed.RejectedRows, Is.EqualTo(new[] { new CsvRowError(lastLine, "id", "oops", "not a valid int32") }));
    }

    [TestCase(16)]
    [TestCase(17)]
    [TestCase(1000)]
    public void RecordReader_GivesTheSameRecordsWhateverTheBufferSize(int bufferChars)
    {
        var (text, _) = Generate(60_000);
        text += "\"unterminated, at the end\r\n";
        var options = new CsvOptions();

        Assert.That(Records(text, options, bufferChars), Is.EqualTo(Records(text, options, CsvRecordReader.BufferChars)));
    }

    private static List<string> Records(string text, CsvOptions options, int bufferChars)
    {
        using var reader = new CsvRecordReader(new StringReader(text), options, bufferChars);
        var records = new List<string>();
        while (reader.TryRead())
        {
            var fields = Enumerable.Range(0, reader.FieldCount).Select(i => (reader.Quoted(i) ? "q:" : "u:") + reader.Field(i).ToString());
            records.Add($"{reader.Line}|{reader.Error}|{reader.Raw.ToString()}|{string.Join("¦", fields)}");
        }
        return records;
    }
}
