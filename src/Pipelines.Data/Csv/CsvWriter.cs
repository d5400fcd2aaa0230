using System.Buffers;
using System.Globalization;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Csv;

/// <summary>Writes tables as RFC 4180 CSV (header line, quoting only when needed, nulls as empty fields).</summary>
public sealed class CsvWriter(TextWriter output, char delimiter = ',') : IDisposable
{
    private bool _headerWritten;
    private readonly SearchValues<char> _special = SearchValues.Create([delimiter, '"', '\n', '\r']);
    private readonly char[] _buffer = new char[1 << 16];
    private int _length;

    public void Write(Table table)
    {
        if (!_headerWritten)
        {
            output.Write(string.Join(delimiter, table.Schema.Fields.Select(f => Quote(f.Name))));
            output.Write('\n');
            _headerWritten = true;
        }
        var columns = table.Columns;
        for (var r = 0; r < table.RowCount; r++)
        {
            for (var c = 0; c < columns.Count; c++)
            {
                if (c > 0) Append(delimiter);
                var column = columns[c];
                if (column.IsNull(r)) continue;
                // Numbers are formatted into the buffer as Column.Format would, without a string per value.
                var done = column switch
                {
                    PrimitiveColumn<double> d when d.Type.Kind == TypeKind.Float64 => AppendFormatted(d[r], "R"),
                    PrimitiveColumn<float> f when f.Type.Kind == TypeKind.Float32 => AppendFormatted(f[r], "R"),
                    PrimitiveColumn<long> l when l.Type.Kind == TypeKind.Int64 => AppendFormatted(l[r], default),
                    PrimitiveColumn<int> i when i.Type.Kind == TypeKind.Int32 => AppendFormatted(i[r], default),
                    _ => false,
                };
                if (!done && column.Format(r) is { } v) Append(Quote(v));
            }
            Append('\n');
        }
        Flush();
    }

    /// <summary>Formats a number in place; false (nothing written) when it would need quoting, which the caller then does through the string.</summary>
    private bool AppendFormatted<T>(T value, ReadOnlySpan<char> format) where T : ISpanFormattable
    {
        if (_buffer.Length - _length < 64) Flush();
        var span = _buffer.AsSpan(_length);
        if (!value.TryFormat(span, out var n, format, CultureInfo.InvariantCulture)) return false;
        var text = span[..n];
        if (n == 0 || text.IndexOfAny(_special) >= 0 || char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1])) return false;
        _length += n;
        return true;
    }

    private void Append(char c)
    {
        if (_length == _buffer.Length) Flush();
        _buffer[_length++] = c;
    }

    private void Append(string s)
    {
        if (_buffer.Length - _length < s.Length)
        {
            Flush();
            if (s.Length > _buffer.Length) { output.Write(s); return; }
        }
        s.CopyTo(_buffer.AsSpan(_length));
        _length += s.Length;
    }

    private void Flush()
    {
        output.Write(_buffer, 0, _length);
        _length = 0;
    }

    private string Quote(string v) =>
        v.Length == 0 || v.IndexOfAny([delimiter, '"', '\n', '\r']) >= 0 || v != v.Trim() ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;

    public void Dispose() => output.Flush();
}
