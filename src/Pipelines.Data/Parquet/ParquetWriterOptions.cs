namespace Pipelines.Data.Parquet;

public sealed record ParquetWriterOptions
{
    public CompressionCodec Codec { get; init; } = CompressionCodec.Snappy;

    /// <summary>A row group is cut when its buffered (uncompressed, in-memory) size reaches this many bytes.</summary>
    public long RowGroupSize { get; init; } = 64L << 20;

    /// <summary>And at the latest after this many rows: 122,880 like DuckDB (60 × 2,048), so a reader can decode one
    /// row group while the previous one is being used, and a row group's columns stay in the CPU's caches.</summary>
    public int MaxRowGroupRows { get; init; } = 122_880;

    /// <summary>Target uncompressed size of one data page.</summary>
    public int PageSize { get; init; } = 1 << 20;

    /// <summary>Try RLE_DICTIONARY first; fall back to PLAIN for a chunk whose dictionary exceeds <see cref="DictionaryPageSizeLimit"/>.</summary>
    public bool UseDictionary { get; init; } = true;

    public int DictionaryPageSizeLimit { get; init; } = 1 << 20;

    /// <summary>Store a CRC-32 of every page.</summary>
    public bool WritePageChecksums { get; init; }

    public int ZstdLevel { get; init; } = 1;

    /// <summary>
    /// Cores that encode a row group's columns at once (all by default); 1 encodes them one after another on the
    /// writing thread. The file is the same either way.
    /// </summary>
    public int? MaxDegreeOfParallelism { get; init; }

    public IReadOnlyDictionary<string, string> KeyValueMetadata { get; init; } = new Dictionary<string, string>();

    public void Validate()
    {
        if (Codec is not (CompressionCodec.Uncompressed or CompressionCodec.Snappy or CompressionCodec.Gzip or CompressionCodec.Zstd or CompressionCodec.Lz4Raw or CompressionCodec.Brotli))
            throw new ArgumentException($"writing codec {Codec} is not supported");
        if (RowGroupSize <= 0 || MaxRowGroupRows <= 0 || PageSize <= 0 || DictionaryPageSizeLimit <= 0)
            throw new ArgumentException("sizes must be positive");
        if (MaxDegreeOfParallelism is <= 0) throw new ArgumentException("MaxDegreeOfParallelism must be at least 1");
    }
}
