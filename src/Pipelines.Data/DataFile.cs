using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Data;

/// <summary>Opens Parquet or CSV by content (Parquet starts with PAR1), for tools that accept either.</summary>
public static class DataFile
{
    public static bool IsParquet(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.Read(magic) == 4 && magic.SequenceEqual("PAR1"u8);
    }

    /// <summary>The file's batches: one per row group for Parquet, the whole table for CSV.</summary>
    public static (Schema Schema, IEnumerable<Table> Batches) Open(string path, CsvOptions? csv = null, IReadOnlyList<string>? columns = null)
    {
        if (IsParquet(path))
        {
            var reader = ParquetReader.Open(path);
            var names = columns ?? reader.Columns.Where(c => !c.IsNested && c.Field is not null).Select(c => c.Name).ToList();
            var schema = new Schema(names.Select(n => reader.Schema.IndexOf(n) is var i and >= 0 ? reader.Schema[i] : throw new KeyNotFoundException($"no readable column '{n}'")));
            return (schema, Stream(reader, names));
        }
        var table = CsvReader.Read(path, csv).Table;
        if (columns is not null) table = table.Select([.. columns]);
        return (table.Schema, [table]);
    }

    private static IEnumerable<Table> Stream(ParquetReader reader, IReadOnlyList<string> names)
    {
        using (reader)
            foreach (var batch in reader.ReadRowGroups(names)) yield return batch;
    }
}
