using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>Writes tables as RFC 4180 CSV (header line, quoting only when needed, nulls as empty fields).</summary>
public sealed class CsvWriter(TextWriter output, char delimiter = ',') : IDisposable
{
    private bool _headerWritten;

    public void Write(Table table)
    {
        if (!_headerWritten)
        {
            output.Write(string.Join(delimiter, table.Schema.Fields.Select(f => Quote(f.Name))));
            output.Write('\n');
            _headerWritten = true;
        }
        var sb = new StringBuilder();
        for (var r = 0; r < table.RowCount; r++)
        {
            sb.Clear();
            for (var c = 0; c < table.Columns.Count; c++)
            {
                if (c > 0) sb.Append(delimiter);
                var v = table.Columns[c].Format(r);
                if (v is not null) sb.Append(Quote(v));
            }
            sb.Append('\n');
            output.Write(sb);
        }
    }

    private string Quote(string v) =>
        v.Length == 0 || v.IndexOfAny([delimiter, '"', '\n', '\r']) >= 0 || v != v.Trim() ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;

    public void Dispose() => output.Flush();
}
