using System.Buffers.Binary;
using Pipelines.Data.Parquet;
using Pipelines.Data.Parquet.Thrift;

namespace Pipelines.Data.Tests.Parquet;

/// <summary>
/// Hand-built files whose declared counts are huge but consistent with each other (row group, chunk and page
/// agree). The reader must reject them with a format error naming the offset, allocating far less than the
/// counts ask for: no buffer may be sized from an untrusted field without a bound from the file's size.
/// </summary>
public class HostileInputTests
{
    // Generous for the reader's own bookkeeping; the counts below would need hundreds of megabytes.
    private const long AllocationBudget = 8 << 20;

    private static ParquetFormatException ReadExpectingFormatError(byte[] file, out long allocated)
    {
        ParquetFormatException? error = null;
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            using var reader = new ParquetReader(new MemoryStream(file, writable: false));
            foreach (var batch in reader.ReadRowGroups()) _ = batch.RowCount;
        }
        catch (ParquetFormatException e) { error = e; }
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(error, Is.Not.Null, "the crafted file was accepted");
        Assert.That(error!.Message, Does.Contain($"at file offset {error.Offset}"));
        Assert.That(error.Offset, Is.InRange(0, file.Length));
        return error;
    }

    private static SchemaElement Leaf(PhysicalType type, Repetition repetition) =>
        new() { Name = "x", Type = type, RepetitionType = repetition };

    /// <summary>PAR1, the given pages (header + body each) as one chunk of column x, then a footer describing them.</summary>
    internal static byte[] BuildFile(SchemaElement leaf, long rows, CompressionCodec codec, params (PageHeader Header, byte[] Body)[] pages)
    {
        using var file = new MemoryStream();
        file.Write("PAR1"u8);
        var chunkStart = file.Position;
        long? dictionaryOffset = null, dataOffset = null;
        long uncompressed = 0;
        foreach (var (header, body) in pages)
        {
            if (header.Type == PageType.DictionaryPage) dictionaryOffset ??= file.Position; else dataOffset ??= file.Position;
            var w = new CompactWriter();
            MetadataCodec.WritePageHeader(w, header);
            file.Write(w.Written);
            file.Write(body);
            uncompressed += w.Written.Length + header.UncompressedPageSize;
        }
        var chunkSize = file.Position - chunkStart;
        var meta = new FileMetaData
        {
            Version = 1,
            Schema = [new SchemaElement { Name = "schema", NumChildren = 1 }, leaf],
            NumRows = rows,
            RowGroups =
            [
                new RowGroup
                {
                    NumRows = rows, TotalByteSize = uncompressed,
                    Columns =
                    [
                        new ColumnChunk
                        {
                            FileOffset = chunkStart,
                            MetaData = new ColumnMetaData
                            {
                                Type = leaf.Type!.Value, Encodings = [Encoding.Plain, Encoding.Rle], PathInSchema = ["x"], Codec = codec,
                                NumValues = rows, TotalUncompressedSize = uncompressed, TotalCompressedSize = chunkSize,
                                DataPageOffset = dataOffset ?? chunkStart, DictionaryPageOffset = dictionaryOffset,
                            },
                        },
                    ],
                },
            ],
        };
        var footer = new CompactWriter();
        MetadataCodec.WriteFileMetaData(footer, meta);
        file.Write(footer.Written);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, footer.Written.Length);
        file.Write(length);
        file.Write("PAR1"u8);
        return file.ToArray();
    }

    internal static byte[] Varint(ulong v)
    {
        var bytes = new List<byte>();
        while (v >= 0x80) { bytes.Add((byte)(v | 0x80)); v >>= 7; }
        bytes.Add((byte)v);
        return [.. bytes];
    }

    /// <summary>Definition levels (length-prefixed RLE) with one run of <paramref name="count"/> zeros: all nulls.</summary>
    private static byte[] AllNullLevels(int count)
    {
        var run = Varint((ulong)count << 1).Append((byte)0).ToArray();
        return [.. BitConverter.GetBytes(run.Length), .. run];
    }

    [Test]
    public void HugeConsistentRowCount_InATinyAllNullChunk_IsRejectedWithoutAllocatingPerRow()
    {
        // 60 million null rows: footer, row group, chunk and page all agree, and one RLE run encodes them.
        const int rows = 60_000_000;
        var body = AllNullLevels(rows);
        var page = new PageHeader
        {
            Type = PageType.DataPage, UncompressedPageSize = body.Length, CompressedPageSize = body.Length,
            DataPage = new DataPageHeader { NumValues = rows, Encoding = Encoding.Plain, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        var file = BuildFile(Leaf(PhysicalType.Int64, Repetition.Optional), rows, CompressionCodec.Uncompressed, (page, body));

        var error = ReadExpectingFormatError(file, out var allocated);

        Assert.That(error.Message, Does.Contain("60000000 rows"));
        Assert.That(allocated, Is.LessThan(AllocationBudget), $"allocated {allocated:N0} bytes");
    }

    [Test]
    public void SmallAllNullChunk_WithinTheRowsPerByteBound_StillReads()
    {
        // The same shape at a legitimate density must keep working (the bound is not a blanket ban on RLE runs).
        const int rows = 100_000;
        var body = AllNullLevels(rows);
        var page = new PageHeader
        {
            Type = PageType.DataPage, UncompressedPageSize = body.Length, CompressedPageSize = body.Length,
            DataPage = new DataPageHeader { NumValues = rows, Encoding = Encoding.Plain, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        var file = BuildFile(Leaf(PhysicalType.Int64, Repetition.Optional), rows, CompressionCodec.Uncompressed, (page, body));

        using var reader = new ParquetReader(new MemoryStream(file));
        var table = reader.ReadAll();
        Assert.That(table.RowCount, Is.EqualTo(rows));
        Assert.That(table.Columns[0].NullCount, Is.EqualTo(rows));
    }

    [Test]
    public void HugeDictionaryCount_IsRejectedBeforeTheDictionaryIsAllocated()
    {
        var dictBody = new byte[64];
        var dict = new PageHeader
        {
            Type = PageType.DictionaryPage, UncompressedPageSize = dictBody.Length, CompressedPageSize = dictBody.Length,
            DictionaryPage = new DictionaryPageHeader { NumValues = 200_000_000, Encoding = Encoding.Plain },
        };
        byte[] indices = [1, .. Varint(10 << 1), 0];
        var data = new PageHeader
        {
            Type = PageType.DataPage, UncompressedPageSize = indices.Length, CompressedPageSize = indices.Length,
            DataPage = new DataPageHeader { NumValues = 10, Encoding = Encoding.RleDictionary, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        var file = BuildFile(Leaf(PhysicalType.Int64, Repetition.Required), 10, CompressionCodec.Uncompressed, (dict, dictBody), (data, indices));

        var error = ReadExpectingFormatError(file, out var allocated);

        Assert.That(error.Message, Does.Contain("dictionary of 200000000 values"));
        Assert.That(error.Offset, Is.EqualTo(4), "the dictionary page header starts right after PAR1");
        Assert.That(allocated, Is.LessThan(AllocationBudget), $"allocated {allocated:N0} bytes");
    }

    [Test]
    public void HugeUncompressedPageSize_IsRejectedBeforeTheBufferIsAllocated()
    {
        var body = new byte[16];
        var page = new PageHeader
        {
            Type = PageType.DataPage, UncompressedPageSize = 1_500_000_000, CompressedPageSize = body.Length,
            DataPage = new DataPageHeader { NumValues = 10, Encoding = Encoding.Plain, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        var file = BuildFile(Leaf(PhysicalType.Int64, Repetition.Required), 10, CompressionCodec.Snappy, (page, body));

        var error = ReadExpectingFormatError(file, out var allocated);

        Assert.That(error.Message, Does.Contain("1500000000 bytes"));
        Assert.That(allocated, Is.LessThan(AllocationBudget), $"allocated {allocated:N0} bytes");
    }

    [Test]
    public void HugeStringLength_IsRejectedWithoutAllocatingIt()
    {
        byte[] body = [.. BitConverter.GetBytes(1_000_000_000), .. "abc"u8];
        var page = new PageHeader
        {
            Type = PageType.DataPage, UncompressedPageSize = body.Length, CompressedPageSize = body.Length,
            DataPage = new DataPageHeader { NumValues = 1, Encoding = Encoding.Plain, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        var file = BuildFile(Leaf(PhysicalType.ByteArray, Repetition.Required), 1, CompressionCodec.Uncompressed, (page, body));

        var error = ReadExpectingFormatError(file, out var allocated);

        Assert.That(error.Message, Does.Contain("value length 1000000000"));
        Assert.That(allocated, Is.LessThan(AllocationBudget), $"allocated {allocated:N0} bytes");
    }

    [Test]
    public void HugeThriftListLength_InTheFooter_IsRejectedWithoutAllocatingIt()
    {
        var file = BuildFile(Leaf(PhysicalType.Int64, Repetition.Required), 0, CompressionCodec.Uncompressed);
        // The footer starts with field 1 (version, i32), then field 2: the schema list. Make its size 2^31-1.
        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        var footerStart = file.Length - 8 - footerLength;
        var listHeader = Array.IndexOf(file, (byte)0x19, footerStart); // field delta 1, type list
        Assert.That(listHeader, Is.GreaterThan(footerStart));
        Assert.That(file[listHeader + 1], Is.EqualTo(0x2C), "two struct elements");
        byte[] huge = [0xFC, .. Varint(int.MaxValue)];
        var patched = file[..(listHeader + 1)].Concat(huge).Concat(file[(listHeader + 2)..(file.Length - 8)]).ToList();
        var newFooterLength = footerLength + huge.Length - 1;
        patched.AddRange(BitConverter.GetBytes(newFooterLength));
        patched.AddRange("PAR1"u8.ToArray());

        var error = ReadExpectingFormatError([.. patched], out var allocated);

        Assert.That(error.Message, Does.Contain($"list of {int.MaxValue} elements"));
        Assert.That(allocated, Is.LessThan(AllocationBudget), $"allocated {allocated:N0} bytes");
    }
}
