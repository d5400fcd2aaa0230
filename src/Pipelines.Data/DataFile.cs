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

    /// <summary>
    /// The file's batches, streamed with bounded memory: one per row group for Parquet, one per
    /// <see cref="CsvBatchReader.DefaultBatchRows"/> rows for CSV. With <paramref name="transient"/>, a Parquet
    /// batch's buffers are reused for the next one: use it only when each batch is consumed before the next
    /// (printing, statistics), not when batches are kept (e.g. by a writer buffering a row group).
    /// </summary>
    /// <param name="rejectedRows">For CSV: called with the number of rows the bad-row policy rejected, once the batches are read.</param>
    public static (Schema Schema, IEnumerable<Table> Batches) Open(string path, CsvOptions? csv = null, IReadOnlyList<string>? columns = null, bool transient = false,
        Action<long>? rejectedRows = null)
    {
        if (IsParquet(path))
        {
            var reader = ParquetReader.Open(path);
            try
            {
                var names = columns ?? reader.Columns.Where(c => !c.IsNested && c.Field is not null).Select(c => c.Name).ToList();
                var schema = new Schema(names.Select(n => reader.Schema.IndexOf(n) is var i and >= 0 ? reader.Schema[i] : throw new KeyNotFoundException($"no readable column '{n}'")));
                return (schema, Stream(reader, names, transient));
            }
            catch { reader.Dispose(); throw; }
        }
        // The reader parses only the columns asked for; with their types declared in the options it skips inference.
        var csvReader = CsvBatchReader.Open(path, csv, columns: columns);
        return (csvReader.Schema, Stream(csvReader, rejectedRows));
    }

    private static IEnumerable<Table> Stream(ParquetReader reader, IReadOnlyList<string> names, bool transient)
    {
        using (reader)
            foreach (var batch in reader.ReadRowGroups(names, reuseBuffers: transient)) yield return batch;
    }

    private static IEnumerable<Table> Stream(CsvBatchReader reader, Action<long>? rejectedRows)
    {
        using (reader)
        {
            foreach (var batch in reader.ReadBatches()) yield return batch;
            rejectedRows?.Invoke(reader.RejectedCount);
        }
    }
}
