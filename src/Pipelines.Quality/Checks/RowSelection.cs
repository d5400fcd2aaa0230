using Pipelines.Data.Tables;

namespace Pipelines.Quality.Checks;

/// <summary>Copies selected rows of a table into a new one, with the reason each was selected.</summary>
internal static class RowSelection
{
    public static Table Take(Table data, bool[] selected, string?[] reasons)
    {
        var builders = data.Schema.Fields.Select(f => ColumnBuilder.Create(f.Type)).ToList();
        var reasonBuilder = (BinaryBuilder)ColumnBuilder.Create(DataType.String);
        for (var row = 0; row < data.RowCount; row++)
        {
            if (!selected[row]) continue;
            for (var c = 0; c < builders.Count; c++) builders[c].AppendColumn(data.Columns[c].Slice(row, 1));
            reasonBuilder.Append(reasons[row] ?? "");
        }
        var fields = data.Schema.Fields.Append(new Field("_rejected_because", DataType.String, Nullable: false));
        return new Table(new Schema(fields), builders.Select(b => b.Build()).Append(reasonBuilder.Build()).ToArray());
    }
}
