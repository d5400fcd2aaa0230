using System.Globalization;
using Pipelines.Api.Endpoints;
using Pipelines.Data.Tables;

namespace Pipelines.Api.Domain;

public enum PreviewKind { None, Table, Html, Text }

/// <summary>The rules of an artifact preview, free of I/O: which artifacts have one, the <c>rows</c> parameter, a cell as JSON.</summary>
public static class ArtifactPreview
{
    public static PreviewKind KindOf(string? name, string? mediaType)
    {
        var n = name?.ToLowerInvariant() ?? "";
        var m = mediaType?.ToLowerInvariant() ?? "";
        if (n.EndsWith(".parquet", StringComparison.Ordinal) || m.Contains("parquet", StringComparison.Ordinal)) return PreviewKind.Table;
        if (n.EndsWith(".html", StringComparison.Ordinal) || n.EndsWith(".htm", StringComparison.Ordinal) || m.StartsWith("text/html", StringComparison.Ordinal)) return PreviewKind.Html;
        if (m.StartsWith("text/", StringComparison.Ordinal) || m.Contains("json", StringComparison.Ordinal)
            || n.EndsWith(".json", StringComparison.Ordinal) || n.EndsWith(".csv", StringComparison.Ordinal) || n.EndsWith(".txt", StringComparison.Ordinal))
            return PreviewKind.Text;
        return PreviewKind.None;
    }

    /// <summary><c>rows</c>: absent means the default; otherwise a whole number from 1 to the maximum.</summary>
    public static bool TryRows(string? text, out int rows, out string? error)
    {
        error = null;
        rows = ArtifactPreviewEndpoints.DefaultRows;
        if (string.IsNullOrEmpty(text)) return true;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out rows) && rows is >= 1 and <= ArtifactPreviewEndpoints.MaxRows) return true;
        error = $"expected a whole number from 1 to {ArtifactPreviewEndpoints.MaxRows}, got '{text}'";
        return false;
    }

    /// <summary>Numbers and booleans stay JSON numbers and booleans; everything else is the column's own text form.</summary>
    public static JsonNode? Cell(Column column, int row)
    {
        if (column.IsNull(row)) return null;
        return column.GetValue(row) switch
        {
            bool b => JsonValue.Create(b),
            int i => JsonValue.Create(i),
            long l => JsonValue.Create(l),
            short s => JsonValue.Create(s),
            sbyte s => JsonValue.Create(s),
            byte s => JsonValue.Create(s),
            double d when double.IsFinite(d) => JsonValue.Create(d),
            float f when float.IsFinite(f) => JsonValue.Create(f),
            _ => JsonValue.Create(column.Format(row)),
        };
    }
}
