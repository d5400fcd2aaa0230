using Pipelines.Data.Parquet.Thrift;

namespace Pipelines.Data.Parquet;

// The subset of parquet.thrift this codec reads and writes. Field ids follow parquet-format's parquet.thrift;
// unknown fields are skipped, so files from newer writers still parse.

public enum PhysicalType { Boolean = 0, Int32 = 1, Int64 = 2, Int96 = 3, Float = 4, Double = 5, ByteArray = 6, FixedLenByteArray = 7 }
public enum Repetition { Required = 0, Optional = 1, Repeated = 2 }
public enum Encoding { Plain = 0, PlainDictionary = 2, Rle = 3, BitPacked = 4, DeltaBinaryPacked = 5, DeltaLengthByteArray = 6, DeltaByteArray = 7, RleDictionary = 8, ByteStreamSplit = 9 }
public enum CompressionCodec { Uncompressed = 0, Snappy = 1, Gzip = 2, Lzo = 3, Brotli = 4, Lz4 = 5, Zstd = 6, Lz4Raw = 7 }
public enum PageType { DataPage = 0, IndexPage = 1, DictionaryPage = 2, DataPageV2 = 3 }

public enum ConvertedType
{
    Utf8 = 0, Map = 1, MapKeyValue = 2, List = 3, Enum = 4, Decimal = 5, Date = 6, TimeMillis = 7, TimeMicros = 8,
    TimestampMillis = 9, TimestampMicros = 10, UInt8 = 11, UInt16 = 12, UInt32 = 13, UInt64 = 14,
    Int8 = 15, Int16 = 16, Int32 = 17, Int64 = 18, Json = 19, Bson = 20, Interval = 21,
}

/// <summary>The LogicalType union; <see cref="Kind"/> is the union's field id (1 STRING … 15 FLOAT16; others kept as-is).</summary>
public sealed class LogicalType
{
    public const int String = 1, Map = 2, List = 3, Enum = 4, Decimal = 5, Date = 6, Time = 7, Timestamp = 8,
        Integer = 10, Unknown = 11, Json = 12, Bson = 13, Uuid = 14, Float16 = 15;
    public int Kind;
    public int Scale, Precision;          // DECIMAL
    public bool IsAdjustedToUtc;          // TIME, TIMESTAMP
    public int Unit;                      // 1 millis, 2 micros, 3 nanos
    public int BitWidth; public bool IsSigned; // INTEGER
}

public sealed class SchemaElement
{
    public PhysicalType? Type;
    public int? TypeLength;
    public Repetition? RepetitionType;
    public string Name = "";
    public int NumChildren;
    public ConvertedType? ConvertedType;
    public int? Scale, Precision, FieldId;
    public LogicalType? LogicalType;
}

public sealed class Statistics
{
    public byte[]? Max, Min, MaxValue, MinValue;
    public long? NullCount, DistinctCount;

    /// <summary>Min/max per the current spec fields, falling back to the deprecated ones.</summary>
    public byte[]? EffectiveMin => MinValue ?? Min;
    public byte[]? EffectiveMax => MaxValue ?? Max;
}

public sealed class KeyValue { public string Key = ""; public string? Value; }

public sealed class ColumnMetaData
{
    public PhysicalType Type;
    public List<Encoding> Encodings = [];
    public List<string> PathInSchema = [];
    public CompressionCodec Codec;
    public long NumValues, TotalUncompressedSize, TotalCompressedSize, DataPageOffset;
    public long? IndexPageOffset, DictionaryPageOffset;
    public Statistics? Statistics;
    public List<KeyValue>? KeyValueMetadata;
}

public sealed class ColumnChunk
{
    public string? FilePath;
    public long FileOffset;
    public ColumnMetaData? MetaData;
}

public sealed class RowGroup
{
    public List<ColumnChunk> Columns = [];
    public long TotalByteSize, NumRows;
    public long? FileOffset, TotalCompressedSize;
    public short? Ordinal;
}

public sealed class FileMetaData
{
    public int Version;
    public List<SchemaElement> Schema = [];
    public long NumRows;
    public List<RowGroup> RowGroups = [];
    public List<KeyValue>? KeyValueMetadata;
    public string? CreatedBy;
    public bool HasColumnOrders;
}

public sealed class DataPageHeader
{
    public int NumValues;
    public Encoding Encoding, DefinitionLevelEncoding, RepetitionLevelEncoding;
}

public sealed class DataPageHeaderV2
{
    public int NumValues, NumNulls, NumRows;
    public Encoding Encoding;
    public int DefinitionLevelsByteLength, RepetitionLevelsByteLength;
    public bool IsCompressed = true;
}

public sealed class DictionaryPageHeader { public int NumValues; public Encoding Encoding; public bool IsSorted; }

public sealed class PageHeader
{
    public PageType Type;
    public int UncompressedPageSize, CompressedPageSize;
    public int? Crc;
    public DataPageHeader? DataPage;
    public DictionaryPageHeader? DictionaryPage;
    public DataPageHeaderV2? DataPageV2;
}

/// <summary>Parses and serializes the metadata structures.</summary>
internal static class MetadataCodec
{
    public static FileMetaData ReadFileMetaData(ref CompactReader r)
    {
        var m = new FileMetaData();
        var hasVersion = false; var hasSchema = false; var hasRows = false; var hasGroups = false;
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.I32: m.Version = r.ReadI32(); hasVersion = true; break;
                case 2 when t == CompactType.List: m.Schema = ReadList(ref r, ReadSchemaElement); hasSchema = true; break;
                case 3 when t == CompactType.I64: m.NumRows = r.ReadI64(); hasRows = true; break;
                case 4 when t == CompactType.List: m.RowGroups = ReadList(ref r, ReadRowGroup); hasGroups = true; break;
                case 5 when t == CompactType.List: m.KeyValueMetadata = ReadList(ref r, ReadKeyValue); break;
                case 6 when t == CompactType.Binary: m.CreatedBy = r.ReadString(); break;
                case 7 when t == CompactType.List: m.HasColumnOrders = true; r.Skip(t); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        if (!hasVersion || !hasSchema || !hasRows || !hasGroups) throw r.Error("FileMetaData misses a required field");
        return m;
    }

    private delegate T ElementReader<T>(ref CompactReader r);

    private static List<T> ReadList<T>(ref CompactReader r, ElementReader<T> read)
    {
        var n = r.ReadListHeader(out var et);
        if (et != CompactType.Struct) throw r.Error($"expected a list of structs, found element type {et}");
        var list = new List<T>(Math.Min(n, 1024));
        for (var i = 0; i < n; i++) list.Add(read(ref r));
        return list;
    }

    private static SchemaElement ReadSchemaElement(ref CompactReader r)
    {
        var e = new SchemaElement();
        var hasName = false;
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.I32: e.Type = (PhysicalType)r.ReadI32(); break;
                case 2 when t == CompactType.I32: e.TypeLength = r.ReadI32(); break;
                case 3 when t == CompactType.I32: e.RepetitionType = (Repetition)r.ReadI32(); break;
                case 4 when t == CompactType.Binary: e.Name = r.ReadString(); hasName = true; break;
                case 5 when t == CompactType.I32: e.NumChildren = r.ReadI32(); break;
                case 6 when t == CompactType.I32: e.ConvertedType = (ConvertedType)r.ReadI32(); break;
                case 7 when t == CompactType.I32: e.Scale = r.ReadI32(); break;
                case 8 when t == CompactType.I32: e.Precision = r.ReadI32(); break;
                case 9 when t == CompactType.I32: e.FieldId = r.ReadI32(); break;
                case 10 when t == CompactType.Struct: e.LogicalType = ReadLogicalType(ref r); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        if (!hasName) throw r.Error("SchemaElement without a name");
        return e;
    }

    private static LogicalType ReadLogicalType(ref CompactReader r)
    {
        var lt = new LogicalType { Kind = -1 };
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            if (t != CompactType.Struct) { r.Skip(t); continue; }
            lt.Kind = id;
            r.EnterStruct();
            short inner = 0;
            while (r.ReadField(ref inner, out var fid, out var ft))
            {
                switch (id, fid)
                {
                    case (LogicalType.Decimal, 1) when ft == CompactType.I32: lt.Scale = r.ReadI32(); break;
                    case (LogicalType.Decimal, 2) when ft == CompactType.I32: lt.Precision = r.ReadI32(); break;
                    case (LogicalType.Time or LogicalType.Timestamp, 1): lt.IsAdjustedToUtc = r.ReadBool(ft); break;
                    case (LogicalType.Time or LogicalType.Timestamp, 2) when ft == CompactType.Struct:
                    {
                        r.EnterStruct();
                        short u = 0;
                        while (r.ReadField(ref u, out var unitId, out var ut)) { lt.Unit = unitId; r.Skip(ut); }
                        r.ExitStruct();
                        break;
                    }
                    case (LogicalType.Integer, 1) when ft == CompactType.Byte: lt.BitWidth = (sbyte)r.ReadByte(); break;
                    case (LogicalType.Integer, 2): lt.IsSigned = r.ReadBool(ft); break;
                    default: r.Skip(ft); break;
                }
            }
            r.ExitStruct();
        }
        r.ExitStruct();
        return lt;
    }

    private static RowGroup ReadRowGroup(ref CompactReader r)
    {
        var g = new RowGroup();
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.List: g.Columns = ReadList(ref r, ReadColumnChunk); break;
                case 2 when t == CompactType.I64: g.TotalByteSize = r.ReadI64(); break;
                case 3 when t == CompactType.I64: g.NumRows = r.ReadI64(); break;
                case 5 when t == CompactType.I64: g.FileOffset = r.ReadI64(); break;
                case 6 when t == CompactType.I64: g.TotalCompressedSize = r.ReadI64(); break;
                case 7 when t == CompactType.I16: g.Ordinal = (short)r.ReadI32(); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        return g;
    }

    private static ColumnChunk ReadColumnChunk(ref CompactReader r)
    {
        var c = new ColumnChunk();
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.Binary: c.FilePath = r.ReadString(); break;
                case 2 when t == CompactType.I64: c.FileOffset = r.ReadI64(); break;
                case 3 when t == CompactType.Struct: c.MetaData = ReadColumnMetaData(ref r); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        return c;
    }

    private static ColumnMetaData ReadColumnMetaData(ref CompactReader r)
    {
        var m = new ColumnMetaData();
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.I32: m.Type = (PhysicalType)r.ReadI32(); break;
                case 2 when t == CompactType.List:
                {
                    var n = r.ReadListHeader(out _);
                    for (var i = 0; i < n; i++) m.Encodings.Add((Encoding)r.ReadI32());
                    break;
                }
                case 3 when t == CompactType.List:
                {
                    var n = r.ReadListHeader(out _);
                    for (var i = 0; i < n; i++) m.PathInSchema.Add(r.ReadString());
                    break;
                }
                case 4 when t == CompactType.I32: m.Codec = (CompressionCodec)r.ReadI32(); break;
                case 5 when t == CompactType.I64: m.NumValues = r.ReadI64(); break;
                case 6 when t == CompactType.I64: m.TotalUncompressedSize = r.ReadI64(); break;
                case 7 when t == CompactType.I64: m.TotalCompressedSize = r.ReadI64(); break;
                case 8 when t == CompactType.List: m.KeyValueMetadata = ReadList(ref r, ReadKeyValue); break;
                case 9 when t == CompactType.I64: m.DataPageOffset = r.ReadI64(); break;
                case 10 when t == CompactType.I64: m.IndexPageOffset = r.ReadI64(); break;
                case 11 when t == CompactType.I64: m.DictionaryPageOffset = r.ReadI64(); break;
                case 12 when t == CompactType.Struct: m.Statistics = ReadStatistics(ref r); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        return m;
    }

    private static Statistics ReadStatistics(ref CompactReader r)
    {
        var s = new Statistics();
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.Binary: s.Max = r.ReadBinary(); break;
                case 2 when t == CompactType.Binary: s.Min = r.ReadBinary(); break;
                case 3 when t == CompactType.I64: s.NullCount = r.ReadI64(); break;
                case 4 when t == CompactType.I64: s.DistinctCount = r.ReadI64(); break;
                case 5 when t == CompactType.Binary: s.MaxValue = r.ReadBinary(); break;
                case 6 when t == CompactType.Binary: s.MinValue = r.ReadBinary(); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        return s;
    }

    private static KeyValue ReadKeyValue(ref CompactReader r)
    {
        var kv = new KeyValue();
        r.EnterStruct();
        short last = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.Binary: kv.Key = r.ReadString(); break;
                case 2 when t == CompactType.Binary: kv.Value = r.ReadString(); break;
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        return kv;
    }

    public static PageHeader ReadPageHeader(ref CompactReader r)
    {
        var h = new PageHeader();
        r.EnterStruct();
        short last = 0;
        var seen = 0;
        while (r.ReadField(ref last, out var id, out var t))
        {
            switch (id)
            {
                case 1 when t == CompactType.I32: h.Type = (PageType)r.ReadI32(); seen |= 1; break;
                case 2 when t == CompactType.I32: h.UncompressedPageSize = r.ReadI32(); seen |= 2; break;
                case 3 when t == CompactType.I32: h.CompressedPageSize = r.ReadI32(); seen |= 4; break;
                case 4 when t == CompactType.I32: h.Crc = r.ReadI32(); break;
                case 5 when t == CompactType.Struct:
                {
                    var d = h.DataPage = new DataPageHeader();
                    r.EnterStruct();
                    short l = 0;
                    while (r.ReadField(ref l, out var f, out var ft))
                    {
                        switch (f)
                        {
                            case 1 when ft == CompactType.I32: d.NumValues = r.ReadI32(); break;
                            case 2 when ft == CompactType.I32: d.Encoding = (Encoding)r.ReadI32(); break;
                            case 3 when ft == CompactType.I32: d.DefinitionLevelEncoding = (Encoding)r.ReadI32(); break;
                            case 4 when ft == CompactType.I32: d.RepetitionLevelEncoding = (Encoding)r.ReadI32(); break;
                            default: r.Skip(ft); break;
                        }
                    }
                    r.ExitStruct();
                    break;
                }
                case 7 when t == CompactType.Struct:
                {
                    var d = h.DictionaryPage = new DictionaryPageHeader();
                    r.EnterStruct();
                    short l = 0;
                    while (r.ReadField(ref l, out var f, out var ft))
                    {
                        switch (f)
                        {
                            case 1 when ft == CompactType.I32: d.NumValues = r.ReadI32(); break;
                            case 2 when ft == CompactType.I32: d.Encoding = (Encoding)r.ReadI32(); break;
                            case 3: d.IsSorted = r.ReadBool(ft); break;
                            default: r.Skip(ft); break;
                        }
                    }
                    r.ExitStruct();
                    break;
                }
                case 8 when t == CompactType.Struct:
                {
                    var d = h.DataPageV2 = new DataPageHeaderV2();
                    r.EnterStruct();
                    short l = 0;
                    while (r.ReadField(ref l, out var f, out var ft))
                    {
                        switch (f)
                        {
                            case 1 when ft == CompactType.I32: d.NumValues = r.ReadI32(); break;
                            case 2 when ft == CompactType.I32: d.NumNulls = r.ReadI32(); break;
                            case 3 when ft == CompactType.I32: d.NumRows = r.ReadI32(); break;
                            case 4 when ft == CompactType.I32: d.Encoding = (Encoding)r.ReadI32(); break;
                            case 5 when ft == CompactType.I32: d.DefinitionLevelsByteLength = r.ReadI32(); break;
                            case 6 when ft == CompactType.I32: d.RepetitionLevelsByteLength = r.ReadI32(); break;
                            case 7: d.IsCompressed = r.ReadBool(ft); break;
                            default: r.Skip(ft); break;
                        }
                    }
                    r.ExitStruct();
                    break;
                }
                default: r.Skip(t); break;
            }
        }
        r.ExitStruct();
        if (seen != 7) throw r.Error("PageHeader misses a required field");
        if (h.UncompressedPageSize < 0 || h.CompressedPageSize < 0) throw r.Error("negative page size");
        return h;
    }

    // ---- writing ----

    public static void WritePageHeader(CompactWriter w, PageHeader h)
    {
        w.BeginStruct();
        w.I32(1, (int)h.Type);
        w.I32(2, h.UncompressedPageSize);
        w.I32(3, h.CompressedPageSize);
        if (h.Crc is { } crc) w.I32(4, crc);
        if (h.DataPage is { } d)
        {
            w.StructField(5);
            w.I32(1, d.NumValues); w.I32(2, (int)d.Encoding); w.I32(3, (int)d.DefinitionLevelEncoding); w.I32(4, (int)d.RepetitionLevelEncoding);
            w.EndStruct();
        }
        if (h.DictionaryPage is { } dp)
        {
            w.StructField(7);
            w.I32(1, dp.NumValues); w.I32(2, (int)dp.Encoding);
            w.EndStruct();
        }
        if (h.DataPageV2 is { } v2)
        {
            w.StructField(8);
            w.I32(1, v2.NumValues); w.I32(2, v2.NumNulls); w.I32(3, v2.NumRows); w.I32(4, (int)v2.Encoding);
            w.I32(5, v2.DefinitionLevelsByteLength); w.I32(6, v2.RepetitionLevelsByteLength); w.Bool(7, v2.IsCompressed);
            w.EndStruct();
        }
        w.EndStruct();
    }

    public static void WriteFileMetaData(CompactWriter w, FileMetaData m)
    {
        w.BeginStruct();
        w.I32(1, m.Version);
        w.ListField(2, CompactType.Struct, m.Schema.Count);
        foreach (var e in m.Schema)
        {
            w.BeginStruct();
            if (e.Type is { } t) w.I32(1, (int)t);
            if (e.TypeLength is { } tl) w.I32(2, tl);
            if (e.RepetitionType is { } rt) w.I32(3, (int)rt);
            w.String(4, e.Name);
            if (e.NumChildren > 0) w.I32(5, e.NumChildren);
            if (e.ConvertedType is { } ct) w.I32(6, (int)ct);
            if (e.Scale is { } sc) w.I32(7, sc);
            if (e.Precision is { } pr) w.I32(8, pr);
            if (e.LogicalType is { } lt) WriteLogicalType(w, lt);
            w.EndStruct();
        }
        w.I64(3, m.NumRows);
        w.ListField(4, CompactType.Struct, m.RowGroups.Count);
        foreach (var g in m.RowGroups)
        {
            w.BeginStruct();
            w.ListField(1, CompactType.Struct, g.Columns.Count);
            foreach (var c in g.Columns)
            {
                w.BeginStruct();
                w.I64(2, c.FileOffset);
                var md = c.MetaData!;
                w.StructField(3);
                w.I32(1, (int)md.Type);
                w.ListField(2, CompactType.I32, md.Encodings.Count);
                foreach (var e in md.Encodings) w.ListI32((int)e);
                w.ListField(3, CompactType.Binary, md.PathInSchema.Count);
                foreach (var p in md.PathInSchema) w.ListString(p);
                w.I32(4, (int)md.Codec);
                w.I64(5, md.NumValues);
                w.I64(6, md.TotalUncompressedSize);
                w.I64(7, md.TotalCompressedSize);
                w.I64(9, md.DataPageOffset);
                if (md.DictionaryPageOffset is { } dpo) w.I64(11, dpo);
                if (md.Statistics is { } s)
                {
                    w.StructField(12);
                    if (s.NullCount is { } nc) w.I64(3, nc);
                    if (s.MaxValue is { } max) w.Binary(5, max);
                    if (s.MinValue is { } min) w.Binary(6, min);
                    w.EndStruct();
                }
                w.EndStruct();
                w.EndStruct();
            }
            w.I64(2, g.TotalByteSize);
            w.I64(3, g.NumRows);
            if (g.FileOffset is { } fo) w.I64(5, fo);
            if (g.TotalCompressedSize is { } tcs) w.I64(6, tcs);
            if (g.Ordinal is { } ord) w.I16(7, ord);
            w.EndStruct();
        }
        if (m.KeyValueMetadata is { Count: > 0 } kvs)
        {
            w.ListField(5, CompactType.Struct, kvs.Count);
            foreach (var kv in kvs)
            {
                w.BeginStruct();
                w.String(1, kv.Key);
                if (kv.Value is not null) w.String(2, kv.Value);
                w.EndStruct();
            }
        }
        if (m.CreatedBy is not null) w.String(6, m.CreatedBy);
        if (m.HasColumnOrders)
        {
            w.ListField(7, CompactType.Struct, m.Schema.Count(e => e.NumChildren == 0 && e.Type is not null));
            foreach (var _ in m.Schema.Where(e => e.NumChildren == 0 && e.Type is not null))
            {
                w.BeginStruct();
                w.StructField(1); w.EndStruct(); // TYPE_ORDER
                w.EndStruct();
            }
        }
        w.EndStruct();
    }

    private static void WriteLogicalType(CompactWriter w, LogicalType lt)
    {
        w.StructField(10);
        w.StructField((short)lt.Kind);
        switch (lt.Kind)
        {
            case LogicalType.Decimal: w.I32(1, lt.Scale); w.I32(2, lt.Precision); break;
            case LogicalType.Time or LogicalType.Timestamp:
                w.Bool(1, lt.IsAdjustedToUtc);
                w.StructField(2); w.StructField((short)lt.Unit); w.EndStruct(); w.EndStruct();
                break;
            case LogicalType.Integer: w.Byte(1, (sbyte)lt.BitWidth); w.Bool(2, lt.IsSigned); break;
        }
        w.EndStruct();
        w.EndStruct();
    }
}
