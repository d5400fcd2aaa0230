using System.Buffers;
using System.Buffers.Binary;
using Pipelines.Data.Compression;
using Pipelines.Data.Parquet.Encodings;
using Pipelines.Data.Parquet.Thrift;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Parquet;

public sealed record ParquetReaderOptions
{
    /// <summary>Row groups claiming more rows are rejected (protects against corrupt counts).</summary>
    public long MaxRowGroupRows { get; init; } = 1 << 26;

    /// <summary>
    /// A column chunk may claim at most this many rows per byte of its compressed size. Decoding allocates a
    /// few bytes per row, so this bounds every per-row allocation by the file's size. An all-null or constant
    /// chunk is the densest legitimate case (a page header plus one RLE run); the default admits about
    /// 1.3 million rows in a 20-byte page.
    /// </summary>
    public long MaxRowsPerChunkByte { get; init; } = 1 << 16;

    /// <summary>Verify page CRCs when a writer stored them.</summary>
    public bool VerifyChecksums { get; init; } = true;

    /// <summary>
    /// The unit INT96 timestamps (Impala, Hive, old Spark) are read in. Nanoseconds (the default) keep every digit but
    /// reach only the years 1677–2262: a value outside them fails naming the column and the date (never a wrapped
    /// date). Microseconds reach any date INT96 can hold (e.g. the 9999-12-31 "no end" sentinel), as Spark and DuckDB read them.
    /// </summary>
    public TimeUnit Int96Unit { get; init; } = TimeUnit.Nanos;
}

/// <summary>
/// Reads flat Parquet files one row group at a time. Nested top-level columns are listed in
/// <see cref="Columns"/> but reading them throws <see cref="ParquetNotSupportedException"/>; project
/// them away to read the rest. Corrupt input throws <see cref="ParquetFormatException"/> with the offset.
/// </summary>
public sealed class ParquetReader : IDisposable
{
    private static readonly byte[] Magic = "PAR1"u8.ToArray();
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly ParquetReaderOptions _options;
    private readonly long _length;
    private readonly long _footerStart;
    // Scratch buffers owned by the reader and reused for every chunk and page it reads (a reader is not
    // thread-safe anyway: it seeks one stream). They grow to the largest chunk / page seen.
    private byte[] _chunkBuffer = [];
    private byte[] _pageBuffer = [];
    private int[] _levels = [];

    public ParquetReader(Stream stream, ParquetReaderOptions? options = null, bool leaveOpen = false)
    {
        if (!stream.CanSeek || !stream.CanRead) throw new ArgumentException("Parquet needs a readable, seekable stream");
        _stream = stream;
        _leaveOpen = leaveOpen;
        _options = options ?? new ParquetReaderOptions();
        _length = stream.Length;
        if (_length < 12) throw new ParquetFormatException($"file of {_length} bytes is too short for Parquet", 0);
        Span<byte> head = stackalloc byte[4];
        ReadExactly(0, head);
        if (!head.SequenceEqual(Magic)) throw new ParquetFormatException("missing PAR1 magic at the start", 0);
        Span<byte> tail = stackalloc byte[8];
        ReadExactly(_length - 8, tail);
        if (!tail[4..].SequenceEqual(Magic))
            throw new ParquetFormatException(tail[4..].SequenceEqual("PARE"u8) ? "encrypted footers are not supported" : "missing PAR1 magic at the end", _length - 4);
        var footerLength = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (footerLength > _length - 12) throw new ParquetFormatException($"footer length {footerLength} exceeds the file", _length - 8);
        _footerStart = _length - 8 - footerLength;
        var footer = new byte[footerLength];
        ReadExactly(_footerStart, footer);
        var reader = new CompactReader(footer, _footerStart);
        Metadata = MetadataCodec.ReadFileMetaData(ref reader);
        Columns = SchemaMapping.Describe(Metadata.Schema, _footerStart, _options.Int96Unit);
        var leaves = Columns.Sum(c => c.LeafCount);
        for (var g = 0; g < Metadata.RowGroups.Count; g++)
        {
            var rg = Metadata.RowGroups[g];
            if (rg.Columns.Count != leaves)
                throw new ParquetFormatException($"row group {g} has {rg.Columns.Count} column chunks, schema has {leaves} leaves", _footerStart);
            if (rg.NumRows < 0 || rg.NumRows > _options.MaxRowGroupRows)
                throw new ParquetFormatException($"row group {g} claims {rg.NumRows} rows", _footerStart);
            foreach (var chunk in rg.Columns)
            {
                // Every buffer the decoder sizes from a row count is bounded through this check.
                if (chunk.MetaData is not { } md) continue;
                var bytes = Math.Clamp(md.TotalCompressedSize, 0, _footerStart);
                if (rg.NumRows > bytes * _options.MaxRowsPerChunkByte)
                    throw new ParquetFormatException($"row group {g} claims {rg.NumRows} rows, but column {string.Join('.', md.PathInSchema)} has only {md.TotalCompressedSize} bytes", _footerStart);
            }
        }
        if (Metadata.RowGroups.Sum(g => g.NumRows) != Metadata.NumRows)
            throw new ParquetFormatException($"row groups hold {Metadata.RowGroups.Sum(g => g.NumRows)} rows, footer says {Metadata.NumRows}", _footerStart);
        Schema = new Schema(Columns.Where(c => c.Field is not null).Select(c => c.Field!));
    }

    public static ParquetReader Open(string path, ParquetReaderOptions? options = null) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess), options);

    public FileMetaData Metadata { get; }

    /// <summary>Every top-level column, including nested ones (which cannot be read).</summary>
    public IReadOnlyList<ColumnDescriptor> Columns { get; }

    /// <summary>The readable (flat, supported) columns.</summary>
    public Schema Schema { get; }

    public int RowGroupCount => Metadata.RowGroups.Count;
    public long RowCount => Metadata.NumRows;

    public IReadOnlyDictionary<string, string?> KeyValueMetadata =>
        (Metadata.KeyValueMetadata ?? []).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    private ColumnDescriptor Resolve(string name)
    {
        var c = Columns.FirstOrDefault(c => c.Name == name) ?? throw new KeyNotFoundException($"no column '{name}' in the file");
        if (c.IsNested) throw new ParquetNotSupportedException($"not supported: column {name} is nested");
        if (c.Field is null) throw new ParquetNotSupportedException($"not supported: column {name} has an unsupported type ({c.Element?.Type}, {c.Element?.LogicalType?.Kind.ToString() ?? c.Element?.ConvertedType?.ToString()})");
        return c;
    }

    private IReadOnlyList<ColumnDescriptor> Project(IReadOnlyList<string>? columns)
    {
        if (columns is null && Unreadable().ToList() is { Count: > 0 } unreadable)
            throw new ParquetNotSupportedException($"not supported: {DescribeUnreadable(unreadable)}; project them away to read the rest" +
                (unreadable.Count == Columns.Count ? " (no other column is readable)" : ""));
        return (columns ?? Columns.Select(c => c.Name).ToList()).Select(Resolve).ToList();
    }

    /// <summary>The top-level columns this reader cannot read: nested ones and those of unsupported types.</summary>
    public IEnumerable<ColumnDescriptor> Unreadable() => Columns.Where(c => c.IsNested || c.Field is null);

    /// <summary>"column a is nested", "columns a, b are nested, column c has an unsupported type".</summary>
    public static string DescribeUnreadable(IReadOnlyCollection<ColumnDescriptor> columns)
    {
        static string Part(List<string> names, string singular, string plural) =>
            names.Count == 1 ? $"column {names[0]} {singular}" : $"columns {string.Join(", ", names)} {plural}";
        var parts = new List<string>();
        var nested = columns.Where(c => c.IsNested).Select(c => c.Name).ToList();
        var other = columns.Where(c => !c.IsNested).Select(c => c.Name).ToList();
        if (nested.Count > 0) parts.Add(Part(nested, "is nested", "are nested"));
        if (other.Count > 0) parts.Add(Part(other, "has an unsupported type", "have unsupported types"));
        return string.Join(", ", parts);
    }

    /// <summary>Reads one row group; <paramref name="columns"/> null = all columns (fails if any is nested).</summary>
    public Table ReadRowGroup(int index, IReadOnlyList<string>? columns = null)
    {
        var projection = Project(columns);
        return ReadRowGroup(index, projection);
    }

    private Table ReadRowGroup(int index, IReadOnlyList<ColumnDescriptor> projection, ChunkDecoder?[]? reused = null)
    {
        var rg = Metadata.RowGroups[index];
        var result = new Column[projection.Count];
        for (var i = 0; i < projection.Count; i++)
            result[i] = ReadColumnChunk(rg, projection[i], index, reused, i);
        return new Table(new Schema(projection.Select(p => p.Field!)), result);
    }

    /// <summary>
    /// Streams row groups one at a time, skipping those the predicate rules out by statistics.
    /// With <paramref name="reuseBuffers"/>, each table's columns share arrays with the next one: a table is
    /// valid only until the enumeration moves on (copy or write out what you keep). This keeps a streaming
    /// read at about one decoded row group of memory instead of leaving every group's arrays to the GC.
    /// </summary>
    public IEnumerable<Table> ReadRowGroups(IReadOnlyList<string>? columns = null, RowGroupPredicate? where = null, bool reuseBuffers = false)
    {
        var projection = Project(columns);
        var reused = reuseBuffers ? new ChunkDecoder?[projection.Count] : null;
        for (var g = 0; g < RowGroupCount; g++)
        {
            if (where is not null && !where.MayMatch(this, g)) continue;
            yield return ReadRowGroup(g, projection, reused);
        }
    }

    /// <summary>Reads the whole file into one table.</summary>
    public Table ReadAll(IReadOnlyList<string>? columns = null)
    {
        var projection = Project(columns);
        var schema = new Schema(projection.Select(p => p.Field!));
        if (RowGroupCount == 1) return ReadRowGroup(0, projection);
        return Table.Concat(schema, Enumerable.Range(0, RowGroupCount).Select(g => ReadRowGroup(g, projection)));
    }

    /// <summary>Statistics of a column chunk, decoded to the column's type (null when absent).</summary>
    public (object? Min, object? Max, long? NullCount)? GetStatistics(int rowGroup, string column)
    {
        var c = Resolve(column);
        var md = Metadata.RowGroups[rowGroup].Columns[c.LeafIndex].MetaData;
        if (md?.Statistics is not { } s) return null;
        return (StatisticsCodec.Decode(c, s.EffectiveMin), StatisticsCodec.Decode(c, s.EffectiveMax), s.NullCount);
    }

    private Column ReadColumnChunk(RowGroup rg, ColumnDescriptor column, int rowGroupIndex, ChunkDecoder?[]? reused, int slot)
    {
        var chunk = rg.Columns[column.LeafIndex];
        var md = chunk.MetaData ?? throw new ParquetFormatException($"column {column.Name} in row group {rowGroupIndex} has no metadata", _footerStart);
        if (chunk.FilePath is not null) throw new ParquetNotSupportedException($"column {column.Name} lives in another file ({chunk.FilePath})");
        var element = column.Element!;
        if (md.Type != element.Type) throw new ParquetFormatException($"column {column.Name}: chunk type {md.Type} differs from schema type {element.Type}", _footerStart);
        var start = md.DataPageOffset;
        if (md.DictionaryPageOffset is >= 4 and var d && (d < start || start < 4)) start = d;
        var size = md.TotalCompressedSize;
        if (start < 4 || size < 0 || start + size > _footerStart)
            throw new ParquetFormatException($"column {column.Name}: chunk [{start}, {start + size}) lies outside the data region", _footerStart);
        var rows = (int)rg.NumRows;
        if (rows == 0) return ColumnConversion.ToColumn(column, ChunkDecoder.Create(element.Type!.Value, element.TypeLength ?? 1, 0, 0, _options.Int96Unit), 0);
        if (_chunkBuffer.Length < size) _chunkBuffer = new byte[size];
        var bytes = _chunkBuffer.AsSpan(0, (int)size);
        ReadExactly(start, bytes);
        // Size buffers for the whole chunk up front (no doubling garbage), but never beyond what the chunk's
        // real byte size could plausibly hold; corrupt row counts then only grow buffers as values decode.
        var capacity = (int)Math.Min(rows, Math.Max(1 << 16, size * 64));
        var byteCapacity = Math.Max((int)Math.Min(Math.Min(md.TotalUncompressedSize, size * 64), Array.MaxLength), 256);
        ChunkDecoder decoder;
        if (reused?[slot] is { } previous) { previous.Reset(capacity, byteCapacity); decoder = previous; }
        else
        {
            decoder = ChunkDecoder.Create(element.Type!.Value, element.TypeLength ?? 0, capacity, byteCapacity, _options.Int96Unit);
            if (reused is not null) reused[slot] = decoder;
        }
        DecodePages(bytes, start, md, column, decoder, rows);
        if (decoder.RowCount != rows)
            throw new ParquetFormatException($"column {column.Name}: chunk holds {decoder.RowCount} values, row group has {rows} rows", start);
        decoder.Scatter();
        return ColumnConversion.ToColumn(column, decoder, rows);
    }

    private void DecodePages(ReadOnlySpan<byte> chunk, long chunkOffset, ColumnMetaData md, ColumnDescriptor column, ChunkDecoder decoder, int rows)
    {
        var pos = 0;
        var maxDef = column.MaxDefinitionLevel;
        ref var page = ref _pageBuffer;
        ref var levels = ref _levels;
        {
            while (decoder.RowCount < rows)
            {
                if (pos >= chunk.Length) throw new ParquetFormatException($"column {column.Name}: chunk ends after {decoder.RowCount} of {rows} values", chunkOffset + pos);
                var headerOffset = chunkOffset + pos;
                var reader = new CompactReader(chunk[pos..], headerOffset);
                var header = MetadataCodec.ReadPageHeader(ref reader);
                pos += reader.Position;
                if (header.CompressedPageSize > chunk.Length - pos)
                    throw new ParquetFormatException($"column {column.Name}: page of {header.CompressedPageSize} bytes exceeds its chunk", headerOffset);
                var body = chunk.Slice(pos, header.CompressedPageSize);
                var bodyOffset = chunkOffset + pos;
                pos += header.CompressedPageSize;
                if (header.Crc is { } crc && _options.VerifyChecksums && Crc32.Compute(body) != (uint)crc)
                    throw new ParquetFormatException($"column {column.Name}: page checksum mismatch", headerOffset);
                try
                {
                    switch (header.Type)
                    {
                        case PageType.DictionaryPage:
                        {
                            var dp = header.DictionaryPage ?? throw new InvalidDataException("dictionary page without its header");
                            if (dp.Encoding is not (Encoding.Plain or Encoding.PlainDictionary)) throw new InvalidDataException($"dictionary page encoding {dp.Encoding}");
                            var data = Decompress(md.Codec, body, header.UncompressedPageSize, ref page);
                            decoder.ReadDictionary(data, dp.NumValues);
                            break;
                        }
                        case PageType.DataPage:
                        {
                            var dh = header.DataPage ?? throw new InvalidDataException("data page without its header");
                            CheckCount(dh.NumValues, rows - decoder.RowCount);
                            var data = Decompress(md.Codec, body, header.UncompressedPageSize, ref page);
                            if (levels.Length < dh.NumValues) levels = new int[dh.NumValues];
                            if (maxDef > 0)
                            {
                                if (dh.DefinitionLevelEncoding != Encoding.Rle) throw new ParquetNotSupportedException($"definition level encoding {dh.DefinitionLevelEncoding}");
                                if (data.Length < 4) throw new InvalidDataException("definition levels without length prefix");
                                var len = BinaryPrimitives.ReadInt32LittleEndian(data);
                                if (len < 0 || len > data.Length - 4) throw new InvalidDataException($"definition levels length {len} exceeds the page");
                                new RleBitPackedDecoder(data.Slice(4, len), RleBitPackedEncoder.BitWidth(maxDef)).Read(levels.AsSpan(0, dh.NumValues));
                                data = data[(4 + len)..];
                            }
                            var nonNull = decoder.AppendLevels(levels, maxDef, dh.NumValues);
                            decoder.ReadValues(dh.Encoding, data, nonNull);
                            break;
                        }
                        case PageType.DataPageV2:
                        {
                            var dh = header.DataPageV2 ?? throw new InvalidDataException("data page v2 without its header");
                            CheckCount(dh.NumValues, rows - decoder.RowCount);
                            // Some writers emit (all-zero) repetition levels even for flat columns; skip them.
                            var repBytes = dh.RepetitionLevelsByteLength;
                            var levelBytes = dh.DefinitionLevelsByteLength;
                            if (repBytes < 0 || levelBytes < 0 || (long)repBytes + levelBytes > body.Length)
                                throw new InvalidDataException($"level lengths {repBytes} + {levelBytes} exceed the page");
                            body = body[repBytes..];
                            if (levels.Length < dh.NumValues) levels = new int[dh.NumValues];
                            if (maxDef > 0)
                                new RleBitPackedDecoder(body[..levelBytes], RleBitPackedEncoder.BitWidth(maxDef)).Read(levels.AsSpan(0, dh.NumValues));
                            var valuesBody = body[levelBytes..];
                            var uncompressed = header.UncompressedPageSize - levelBytes - repBytes;
                            if (uncompressed < 0) throw new InvalidDataException("uncompressed page size smaller than its levels");
                            // An all-null page has no values; writers may then leave the values section empty even
                            // when it is flagged compressed (no codec block at all), so there is nothing to decompress.
                            var data = dh.IsCompressed && !(valuesBody.IsEmpty && uncompressed == 0) ? Decompress(md.Codec, valuesBody, uncompressed, ref page) : valuesBody;
                            var nonNull = decoder.AppendLevels(levels, maxDef, dh.NumValues);
                            if (dh.NumNulls != dh.NumValues - nonNull) throw new InvalidDataException($"page says {dh.NumNulls} nulls, levels say {dh.NumValues - nonNull}");
                            decoder.ReadValues(dh.Encoding, data, nonNull);
                            break;
                        }
                        default: break; // index pages and unknown page types are skipped
                    }
                }
                catch (InvalidDataException e)
                {
                    throw new ParquetFormatException($"column {column.Name}: {e.Message}", headerOffset, e);
                }
                catch (ParquetNotSupportedException e) when (!e.Message.StartsWith("column ", StringComparison.Ordinal))
                {
                    throw new ParquetNotSupportedException($"column {column.Name}: {e.Message}");
                }
                catch (Exception e) when (e is not (ParquetFormatException or ParquetNotSupportedException or InvalidOperationException or OutOfMemoryException))
                {
                    // Decompressors report corrupt input with their own exception types.
                    throw new ParquetFormatException($"column {column.Name}: malformed page ({e.Message})", headerOffset, e);
                }
            }
        }
    }

    private static void CheckCount(int pageValues, int rowsLeft)
    {
        if (pageValues < 0 || pageValues > rowsLeft) throw new InvalidDataException($"page claims {pageValues} values, {rowsLeft} rows are left");
    }

    // Bound a page's claimed uncompressed size by what its codec can possibly expand to, so a corrupt
    // size field cannot make us allocate more than the file could justify.
    private static long MaxExpansion(CompressionCodec codec) => codec switch
    {
        CompressionCodec.Uncompressed => 1,
        CompressionCodec.Snappy => 32,
        CompressionCodec.Lz4 or CompressionCodec.Lz4Raw => 256,
        CompressionCodec.Gzip => 1040,
        _ => 1 << 15,
    };

    private static ReadOnlySpan<byte> Decompress(CompressionCodec codec, ReadOnlySpan<byte> body, int uncompressedSize, ref byte[] buffer)
    {
        if (codec == CompressionCodec.Uncompressed)
        {
            if (body.Length != uncompressedSize) throw new InvalidDataException($"uncompressed page of {body.Length} bytes, header says {uncompressedSize}");
            return body;
        }
        if (uncompressedSize > Math.Max(body.Length, 64) * MaxExpansion(codec))
            throw new InvalidDataException($"page claims {uncompressedSize} bytes from {body.Length} compressed bytes");
        if (buffer.Length < uncompressedSize) buffer = new byte[uncompressedSize];
        var dst = buffer.AsSpan(0, uncompressedSize);
        PageCompression.Decompress(codec, body, dst);
        return dst;
    }

    private void ReadExactly(long offset, Span<byte> destination)
    {
        _stream.Position = offset;
        try { _stream.ReadExactly(destination); }
        catch (EndOfStreamException e) { throw new ParquetFormatException("unexpected end of file", offset, e); }
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
