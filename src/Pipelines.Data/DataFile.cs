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
    /// The file's batches, streamed with bounded memory: one per row group for Parquet, and for CSV batches of
    /// about the size our Parquet writer gives a row group (<see cref="CsvBatchRows"/>). With <paramref name="transient"/>, a Parquet
    /// batch's buffers are reused for the next one: use it only when each batch is consumed before the next
    /// (printing, statistics), not when batches are kept (e.g. by a writer buffering a row group).
    /// </summary>
    /// <param name="rejectedRows">For CSV: called with the number of rows the bad-row policy rejected, once the batches are read.</param>
    /// <param name="warning">
    /// Called when, without <paramref name="columns"/>, Parquet columns we cannot read (nested, unsupported types) are left out;
    /// the message names them. When no column is left, opening fails naming them instead: never an empty table in silence.
    /// </param>
    /// <param name="parquet">Options for reading a Parquet file (e.g. the unit of INT96 timestamps).</param>
    public static (Schema Schema, IEnumerable<Table> Batches) Open(string path, CsvOptions? csv = null, IReadOnlyList<string>? columns = null, bool transient = false,
        Action<long>? rejectedRows = null, Action<string>? warning = null, ParquetReaderOptions? parquet = null)
    {
        if (IsParquet(path))
        {
            var reader = ParquetReader.Open(path, parquet);
            try
            {
                if (columns is null && reader.Unreadable().ToList() is { Count: > 0 } unreadable)
                {
                    if (unreadable.Count == reader.Columns.Count)
                        throw new ParquetNotSupportedException($"no readable columns: {ParquetReader.DescribeUnreadable(unreadable)} (not supported)");
                    warning?.Invoke($"left out, not supported: {ParquetReader.DescribeUnreadable(unreadable)}");
                }
                var names = columns ?? reader.Columns.Where(c => !c.IsNested && c.Field is not null).Select(c => c.Name).ToList();
                var schema = new Schema(names.Select(n => reader.Schema.IndexOf(n) is var i and >= 0 ? reader.Schema[i] : throw new KeyNotFoundException($"no readable column '{n}'")));
                return (schema, Stream(reader, names, transient));
            }
            catch { reader.Dispose(); throw; }
        }
        // The reader parses only the columns asked for; with their types declared in the options it skips inference.
        var csvReader = CsvBatchReader.Open(path, csv, columns: columns);
        return (csvReader.Schema, Stream(csvReader, CsvBatchRows(csvReader.Schema), rejectedRows));
    }

    /// <summary>
    /// Rows per CSV batch: as many as fill a Parquet row group as <see cref="ParquetWriterOptions"/> cuts them by
    /// default (by memory, strings counted at 24 bytes), at least <see cref="CsvBatchReader.DefaultBatchRows"/>.
    /// Consumers that work per batch (a model scoring each batch) pay their per-call costs per row group, whichever
    /// format the data came in.
    /// </summary>
    public static int CsvBatchRows(Schema schema)
    {
        var defaults = new ParquetWriterOptions();
        long bytesPerRow = 0;
        foreach (var f in schema.Fields)
        {
            var t = f.Type.StorageType;
            bytesPerRow += 1 + (t == typeof(byte[]) ? 24 : t == typeof(bool) || t == typeof(sbyte) || t == typeof(byte) ? 1
                : t == typeof(short) || t == typeof(ushort) ? 2 : t == typeof(int) || t == typeof(uint) || t == typeof(float) ? 4 : t == typeof(Int128) ? 16 : 8);
        }
        var rows = defaults.RowGroupSize / Math.Max(1, bytesPerRow);
        return (int)Math.Clamp(rows, CsvBatchReader.DefaultBatchRows, Math.Max(CsvBatchReader.DefaultBatchRows, defaults.MaxRowGroupRows));
    }

    private static IEnumerable<Table> Stream(ParquetReader reader, IReadOnlyList<string> names, bool transient)
    {
        using (reader)
        {
            if (transient)
            {
                // Reused buffers: the next row group may only be decoded once the consumer is done with this one.
                foreach (var batch in reader.ReadRowGroups(names, reuseBuffers: true)) yield return batch;
                yield break;
            }
            // Decode the next row group on another core while the consumer works on this one (a model scoring it, a
            // writer encoding it), as the CSV path parses ahead, so Parquet input is not left waiting on one thread.
            foreach (var batch in ReadAhead(reader.ReadRowGroups(names))) yield return batch;
        }
    }

    private static IEnumerable<Table> Stream(CsvBatchReader reader, int batchRows, Action<long>? rejectedRows)
    {
        using (reader)
        {
            // The next batch is parsed while the consumer works on this one: without it, a writer encoding a row group
            // (data convert) or a model scoring a batch left the parser idle, and the two times added up.
            foreach (var batch in ReadAhead(reader.ReadBatches(batchRows))) yield return batch;
            rejectedRows?.Invoke(reader.RejectedCount);
        }
    }

    /// <summary>
    /// The source's items, the next one produced on a thread of its own while the caller holds the current one. Only one
    /// MoveNext runs at a time, so the source is never used concurrently; each batch must be fresh (not reused buffers).
    /// Errors surface as the source threw them, at the batch where they happened.
    /// </summary>
    private static IEnumerable<Table> ReadAhead(IEnumerable<Table> source)
    {
        using var items = source.GetEnumerator();
        // A thread of its own, not the thread pool's: the CSV reader's MoveNext blocks while its chunks are parsed on
        // the pool, and the Parquet writer encodes columns on the pool; a pool thread blocked here would starve them.
        Task<bool> Ahead() => Task.Factory.StartNew(items.MoveNext, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var next = Ahead();
        try
        {
            while (next.GetAwaiter().GetResult())
            {
                var current = items.Current;
                next = Ahead();
                yield return current;
            }
        }
        finally
        {
            // Abandoned early (or failed): let the running MoveNext finish before the source is disposed.
            try { next.Wait(); } catch (AggregateException) { }
        }
    }
}
