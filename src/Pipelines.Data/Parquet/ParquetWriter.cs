using System.Buffers.Binary;
using Pipelines.Data.Parquet.Thrift;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Parquet;

/// <summary>
/// Writes flat tables to Parquet. Batches are buffered only until a row group is full (by size or rows),
/// then encoded and written, so memory stays around one row group whatever the file size.
/// </summary>
public sealed class ParquetWriter : IDisposable
{
    private static readonly byte[] Magic = "PAR1"u8.ToArray();
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly ParquetWriterOptions _options;
    private readonly ColumnChunkWriter[] _columns;
    private readonly List<Table> _pending = [];
    private readonly List<RowGroup> _rowGroups = [];
    private long _pendingBytes;
    private int _pendingRows;
    private long _position;
    private MemoryStream[]? _encoded;
    private bool _closed;

    public ParquetWriter(Stream stream, Schema schema, ParquetWriterOptions? options = null, bool leaveOpen = false)
    {
        _options = options ?? new ParquetWriterOptions();
        _options.Validate();
        if (schema.Count == 0) throw new ArgumentException("a Parquet file needs at least one column");
        _stream = stream;
        _leaveOpen = leaveOpen;
        Schema = schema;
        _columns = schema.Fields.Select(f => new ColumnChunkWriter(f, _options)).ToArray();
        _stream.Write(Magic);
        _position = 4;
    }

    public static ParquetWriter Create(string path, Schema schema, ParquetWriterOptions? options = null) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20), schema, options);

    public Schema Schema { get; }
    public long RowsWritten { get; private set; }

    /// <summary>Writes one table in one go.</summary>
    public static void WriteTable(string path, Table table, ParquetWriterOptions? options = null)
    {
        using var w = Create(path, table.Schema, options);
        w.Write(table);
    }

    public void Write(Table batch)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (!batch.Schema.Equals(Schema)) throw new ArgumentException($"batch schema ({batch.Schema}) differs from the file's ({Schema})");
        var offset = 0;
        while (offset < batch.RowCount)
        {
            var bytesPerRow = Math.Max(1, EstimateBytes(batch) / Math.Max(1, batch.RowCount));
            var roomByRows = _options.MaxRowGroupRows - _pendingRows;
            var roomByBytes = (int)Math.Clamp((_options.RowGroupSize - _pendingBytes) / bytesPerRow, 1, int.MaxValue);
            var take = Math.Min(batch.RowCount - offset, Math.Min(roomByRows, roomByBytes));
            var slice = offset == 0 && take == batch.RowCount ? batch : batch.Slice(offset, take);
            _pending.Add(slice);
            _pendingRows += take;
            _pendingBytes += take * bytesPerRow;
            offset += take;
            if (_pendingRows >= _options.MaxRowGroupRows || _pendingBytes >= _options.RowGroupSize) FlushRowGroup();
        }
    }

    private static long EstimateBytes(Table t)
    {
        long total = 0;
        foreach (var c in t.Columns)
            total += c is BinaryColumn b ? b.Offsets[^1] - b.Offsets[0] + 4L * b.Length : (long)c.Length * SizeOf(c.Type);
        return total;
    }

    private static int SizeOf(DataType t) => t.Kind switch
    {
        TypeKind.Boolean or TypeKind.Int8 or TypeKind.UInt8 => 1,
        TypeKind.Int16 or TypeKind.UInt16 => 2,
        TypeKind.Int32 or TypeKind.UInt32 or TypeKind.Float32 or TypeKind.Date => 4,
        TypeKind.Decimal => 16,
        _ => 8,
    };

    /// <summary>Writes the buffered rows as a row group now.</summary>
    public void FlushRowGroup()
    {
        if (_pendingRows == 0) return;
        var group = new RowGroup { NumRows = _pendingRows, FileOffset = _position, Ordinal = (short)Math.Min(_rowGroups.Count, short.MaxValue) };
        var start = _position;
        var parallel = Math.Min(_columns.Length, _options.MaxDegreeOfParallelism ?? Environment.ProcessorCount);
        if (parallel <= 1)
        {
            for (var c = 0; c < _columns.Length; c++)
            {
                var chunk = _columns[c].Write(_stream, _pending.Select(t => t.Columns[c]).ToList(), _position);
                _position += chunk.MetaData!.TotalCompressedSize;
                group.TotalByteSize += chunk.MetaData.TotalUncompressedSize;
                group.Columns.Add(chunk);
            }
        }
        else
        {
            // Columns are encoded and compressed independently (each writer has its own buffers), so encode them on
            // several cores, each into its own buffer as if it started at offset 0, then append them in schema order
            // and move their offsets to where they landed: the file is byte for byte the one a single thread writes.
            _encoded ??= _columns.Select(_ => new MemoryStream()).ToArray();
            var chunks = new ColumnChunk[_columns.Length];
            try
            {
                Parallel.For(0, _columns.Length, new ParallelOptions { MaxDegreeOfParallelism = parallel }, c =>
                {
                    _encoded[c].SetLength(0);
                    chunks[c] = _columns[c].Write(_encoded[c], _pending.Select(t => t.Columns[c]).ToList(), 0);
                });
            }
            catch (AggregateException e)
            {
                // The same error as a one-thread write (e.g. nulls in a column declared not nullable), not a wrapper.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                throw;
            }
            for (var c = 0; c < _columns.Length; c++)
            {
                var chunk = chunks[c];
                var md = chunk.MetaData!;
                chunk.FileOffset += _position;
                md.DataPageOffset += _position;
                if (md.DictionaryPageOffset is { } d) md.DictionaryPageOffset = d + _position;
                _stream.Write(_encoded[c].GetBuffer(), 0, (int)_encoded[c].Length);
                _position += md.TotalCompressedSize;
                group.TotalByteSize += md.TotalUncompressedSize;
                group.Columns.Add(chunk);
            }
        }
        group.TotalCompressedSize = _position - start;
        _rowGroups.Add(group);
        RowsWritten += _pendingRows;
        _pending.Clear();
        _pendingRows = 0;
        _pendingBytes = 0;
    }

    /// <summary>Flushes the last row group and writes the footer.</summary>
    public void Close()
    {
        if (_closed) return;
        FlushRowGroup();
        var schema = new List<SchemaElement> { new() { Name = "schema", NumChildren = Schema.Count } };
        for (var i = 0; i < Schema.Count; i++) schema.Add(_columns[i].Layout.ToSchemaElement(Schema[i]));
        var metadata = new FileMetaData
        {
            Version = 1,
            Schema = schema,
            NumRows = RowsWritten,
            RowGroups = _rowGroups,
            KeyValueMetadata = _options.KeyValueMetadata.Select(kv => new KeyValue { Key = kv.Key, Value = kv.Value }).ToList(),
            CreatedBy = "pipelines-data version 0.1.0",
            HasColumnOrders = true,
        };
        var w = new CompactWriter();
        MetadataCodec.WriteFileMetaData(w, metadata);
        _stream.Write(w.Written);
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(tail, w.Written.Length);
        Magic.CopyTo(tail[4..]);
        _stream.Write(tail);
        _stream.Flush();
        _closed = true;
    }

    public void Dispose()
    {
        try { Close(); }
        finally { if (!_leaveOpen) _stream.Dispose(); }
    }
}
