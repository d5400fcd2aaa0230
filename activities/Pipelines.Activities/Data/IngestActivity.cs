using System.Net;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Activities.Data;

/// <param name="Source">A path, an artifact reference or a URL; exactly one of source and query is given.</param>
/// <param name="AllowEmpty">Null: the default depends on the source (false for files, true for incremental queries).</param>
public sealed record IngestInput(
    JsonNode? Source, string? Format, string Delimiter, IReadOnlyList<string> NullTokens, bool Header, string BadRows,
    string? Query, string? Connection, JsonNode? Watermark, bool? AllowEmpty, string? Name) : IActivityInput<IngestInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Optional("source", SchemaBuilder.Any("A local path, an artifact reference or an http(s) URL of a CSV or Parquet file."))
        .Optional("format", SchemaBuilder.String("csv or parquet (default: by extension, then by content)."))
        .Optional("delimiter", SchemaBuilder.String("CSV delimiter (default ',')."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "CSV values read as missing (default [''], e.g. ['?'] for UCI Adult)."))
        .Optional("header", SchemaBuilder.Boolean("The CSV has a header row (default true)."))
        .Optional("bad_rows", SchemaBuilder.String("CSV rows that cannot be read: fail (default), skip or quarantine (published as an artifact)."))
        .Optional("query", SchemaBuilder.String("A PostgreSQL query to ingest instead of a file."))
        .Optional("connection", SchemaBuilder.String("Connection string of the database the query runs on."))
        .Optional("watermark", SchemaBuilder.Any("Incremental loading: {column, key?}; only rows with column > the last committed maximum are read."))
        .Optional("allow_empty", SchemaBuilder.Boolean("Accept a result without rows (default: false for files, true for incremental queries)."))
        .Optional("name", SchemaBuilder.String("Artifact name (default: the source's file name with .parquet, replacing a .csv/.tsv/.parquet/.pq extension: adult.test → adult.test.parquet)."))
        .Build();

    public static IngestInput Bind(ActivityInputs inputs) => new(
        inputs.Node("source"),
        inputs.OptionalString("format"),
        inputs.String("delimiter", ","),
        inputs.StringList("null_tokens", [""]),
        inputs.Boolean("header", true),
        inputs.String("bad_rows", "fail"),
        inputs.OptionalString("query"),
        inputs.OptionalString("connection"),
        inputs.Node("watermark"),
        inputs.OptionalBoolean("allow_empty"),
        inputs.OptionalString("name"));
}

/// <summary>
/// Brings a dataset into the pipeline as a Parquet artifact: CSV or Parquet from a path, an artifact or an HTTP(S)
/// URL, or the result of a PostgreSQL query, optionally incremental from a watermark kept between runs.
/// </summary>
public sealed class IngestActivity : Activity<IngestInput>, IActivityDefinition<IngestInput>
{
    // Not cacheable: a path, URL or query names data whose content can change between runs.
    public static ActivityInfo Info { get; } = new("ingest", "1", "Ingests CSV/Parquet (path, artifact or URL) or a PostgreSQL query into a Parquet artifact with schema and statistics.", Cacheable: false);

    public static IActivity Create(IServiceProvider? services) => new IngestActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("table", SchemaBuilder.Any("The Parquet artifact (reference)."))
            .Required("rows", SchemaBuilder.Integer("Rows ingested."))
            .Required("columns", SchemaBuilder.Array(SchemaBuilder.Any(), "Schema: [{name, type, nullable}]."))
            .Required("stats", SchemaBuilder.Array(SchemaBuilder.Any(), "Per column: {column, count, nulls, min, max}."))
            .Optional("rejected_rows", SchemaBuilder.Integer("CSV rows skipped or quarantined."))
            .Optional("quarantine", SchemaBuilder.Any("Raw text of quarantined CSV rows (artifact), when any."))
            .Optional("watermark", SchemaBuilder.Any("{column, previous, current} for incremental loading."))
            .Build();

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(10) };

    protected override async Task<ActivityResult> ExecuteAsync(IngestInput input, ActivityContext context, CancellationToken ct)
    {
        var outputs = new JsonObject();
        var work = ActivityServices.From(context).WorkDirectory(context);
        string name, path;
        IngestedFile ingested;
        if (input.Query is { } query)
        {
            if (input.Source is not null) throw new ActivityException("give either 'source' or 'query', not both", retryable: false);
            var (table, watermark) = await ReadQueryAsync(context, input, query, ct);
            if (watermark is not null) outputs["watermark"] = watermark;
            name = input.Name ?? "query.parquet";
            var allowEmpty = input.AllowEmpty ?? input.Watermark is not null;
            if (table.RowCount == 0 && !allowEmpty) throw new ActivityException("the query returned no rows", retryable: false);
            path = Path.Combine(work, name);
            ingested = WriteParquet(path, table.Schema, [table]);
        }
        else
        {
            if (input.Source is not { } source) throw new ActivityException("input 'source' (a file) or 'query' is required", retryable: false);
            var (file, displayName) = await LocalSourceAsync(context, source, ct);
            var csv = CsvOptionsFrom(input, Path.Combine(work, "rejected.csv"));
            name = input.Name ?? DefaultName(displayName);
            path = Path.Combine(work, name);
            long rejected = 0;
            ingested = CopyToParquet(file, displayName, FormatOf(input.Format, displayName, file), csv, path, n => rejected = n);
            if (ingested.Rows == 0 && input.AllowEmpty != true)
                throw new ActivityException($"source '{displayName}' has no data rows", retryable: false);
            outputs["rejected_rows"] = rejected;
            if (rejected > 0) context.Log.Write($"{rejected} bad rows {(csv.BadRows == BadRowPolicy.Skip ? "skipped" : "quarantined")}");
            if (csv.BadRows == BadRowPolicy.Quarantine && rejected > 0 && File.Exists(csv.QuarantinePath))
                outputs["quarantine"] = await ArtifactRefs.PublishAsync(context, csv.QuarantinePath!, "rejected.csv", ArtifactKinds.File, ct);
        }

        outputs["table"] = await ArtifactRefs.PublishAsync(context, path, name, ArtifactKinds.Table, ct);
        outputs["rows"] = ingested.Rows;
        outputs["columns"] = TableFiles.SchemaJson(ingested.Schema);
        outputs["stats"] = new JsonArray(ingested.Statistics.Select(c => (JsonNode)c.ToJson()).ToArray());
        context.Log.Write($"ingested {ingested.Rows} rows × {ingested.Schema.Count} columns as {name}");
        return ActivityResult.Success(outputs);
    }

    private sealed record IngestedFile(Schema Schema, long Rows, IReadOnlyList<ColumnStatistics> Statistics);

    /// <summary>
    /// Writes batches to snappy Parquet as they come, keeping statistics on the way, so a source larger than memory
    /// is ingested a batch (about a row group) at a time.
    /// </summary>
    private static IngestedFile WriteParquet(string path, Schema schema, IEnumerable<Table> batches)
    {
        var statistics = schema.Fields.Select(f => new ColumnStatistics(f.Name)).ToArray();
        long rows = 0;
        var writer = ParquetWriter.Create(path, schema, new ParquetWriterOptions { Codec = CompressionCodec.Snappy });
        try
        {
            foreach (var batch in batches)
            {
                for (var c = 0; c < statistics.Length; c++) statistics[c].Add(batch.Columns[c]);
                writer.Write(batch);
                rows += batch.RowCount;
            }
            writer.Dispose();
        }
        catch
        {
            // A source that fails half way must not leave a complete-looking Parquet file of its first rows behind,
            // and closing that file must not hide the error that stopped it.
            try { writer.Dispose(); } catch (Exception) { /* the original error is the one to report */ }
            File.Delete(path);
            throw;
        }
        return new IngestedFile(schema, rows, statistics);
    }

    private static async Task<(string File, string Name)> LocalSourceAsync(ActivityContext context, JsonNode source, CancellationToken ct)
    {
        if (source is JsonValue v && v.TryGetValue<string>(out var text) &&
            Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            var fileName = Path.GetFileName(uri.LocalPath) is { Length: > 0 } n ? n : "download";
            var services = ActivityServices.From(context);
            var target = Path.Combine(services.WorkDirectory(context), "download-" + fileName);
            // A blob on the artifact store's account (e.g. one a file trigger found in a watched container) is read
            // with the store's credential; any other URL is downloaded as it is (public, or carrying its own SAS).
            if (services.Artifacts.Store is Pipelines.Storage.Azure.AzureBlobStore azure &&
                new Pipelines.Storage.Azure.BlobLocations(azure.Connection) is var blobs && blobs.IsOnArtifactAccount(text))
            {
                try { await blobs.DownloadAsync(text, target, ct); }
                catch (Pipelines.Storage.ArtifactNotFoundException)
                {
                    throw new ActivityException($"input 'source': blob {text} does not exist", retryable: false);
                }
            }
            else await DownloadAsync(uri, target, ct);
            return (target, fileName);
        }
        var file = await ArtifactRefs.LocalFileAsync(context, "source", ct);
        var name = ArtifactRefs.IsReference(source) ? source!["name"]?.GetValue<string>() ?? Path.GetFileName(file) : file;
        return (file, name);
    }

    private static async Task DownloadAsync(Uri uri, string target, CancellationToken ct)
    {
        var shown = uri.GetLeftPart(UriPartial.Path); // never log a query string: it may hold a token
        HttpResponseMessage response;
        try { response = await Http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct); }
        catch (HttpRequestException e) { throw new ActivityException($"download of '{shown}' failed: {e.Message}", retryable: true, e); }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested) { throw new ActivityException($"download of '{shown}' timed out", retryable: true, e); }
        using (response)
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                // A client error will not go away on a retry, except throttling and request timeouts.
                var retryable = status >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
                throw new ActivityException($"download of '{shown}' failed: HTTP {status} {response.ReasonPhrase}", retryable);
            }
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await using var file = File.Create(target);
                await body.CopyToAsync(file, ct);
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                throw new ActivityException($"download of '{shown}' was interrupted: {e.Message}", retryable: true, e);
            }
        }
    }

    /// <summary>
    /// The artifact's name when none is given: the source's file name, dropping only a table format's extension, so
    /// adult.data and adult.test stay told apart (adult.data.parquet, adult.test.parquet) in registries and errors.
    /// </summary>
    private static string DefaultName(string source)
    {
        var file = Path.GetFileName(source);
        return (Path.GetExtension(file).ToLowerInvariant() is ".csv" or ".tsv" or ".parquet" or ".pq" ? Path.GetFileNameWithoutExtension(file) : file) + ".parquet";
    }

    private static string FormatOf(string? format, string name, string file)
    {
        if (format is { } f)
            return f.ToLowerInvariant() is "csv" or "parquet" ? f.ToLowerInvariant() : throw new ActivityException($"format must be csv or parquet, got '{f}'", retryable: false);
        var ext = Path.GetExtension(name).ToLowerInvariant();
        if (ext is ".parquet" or ".pq") return "parquet";
        if (ext is ".csv" or ".tsv" or ".txt" or ".data" or ".test") return "csv";
        return new FileInfo(file).Length >= 4 && DataFile.IsParquet(file) ? "parquet" : "csv";
    }

    private static IngestedFile CopyToParquet(string file, string name, string format, CsvOptions csv, string path, Action<long> rejected)
    {
        if (new FileInfo(file).Length == 0) throw new ActivityException($"source '{name}' is empty", retryable: false);
        try
        {
            if (format == "parquet")
            {
                if (!DataFile.IsParquet(file)) throw new ActivityException($"source '{name}' is not a Parquet file (no PAR1 header): corrupt or not Parquet", retryable: false);
                using var reader = ParquetReader.Open(file);
                var names = reader.Columns.Where(c => !c.IsNested && c.Field is not null).Select(c => c.Name).ToList();
                var schema = new Schema(names.Select(n => reader.Schema[reader.Schema.IndexOf(n)]));
                return WriteParquet(path, schema, reader.ReadRowGroups(names, reuseBuffers: false));
            }
            using var batches = CsvBatchReader.Open(file, csv);
            if (batches.Schema.Count == 0) throw new ActivityException($"source '{name}' has no columns", retryable: false);
            var ingested = WriteParquet(path, batches.Schema, batches.ReadBatches());
            rejected(batches.RejectedCount);
            return ingested;
        }
        catch (Exception e) when (e is ParquetFormatException or FormatException or InvalidDataException or NotSupportedException or EndOfStreamException
                                      or ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new ActivityException($"cannot read source '{name}' as {format}: {TableFiles.Describe(e)}", retryable: false, e);
        }
    }

    private static CsvOptions CsvOptionsFrom(IngestInput input, string quarantinePath)
    {
        var delimiter = input.Delimiter;
        if (delimiter == "\\t") delimiter = "\t";
        if (delimiter.Length != 1) throw new ActivityException($"delimiter must be one character, got '{delimiter}'", retryable: false);
        var policy = input.BadRows switch
        {
            "fail" => BadRowPolicy.Fail,
            "skip" => BadRowPolicy.Skip,
            "quarantine" => BadRowPolicy.Quarantine,
            var other => throw new ActivityException($"bad_rows must be fail, skip or quarantine, got '{other}'", retryable: false),
        };
        return new CsvOptions
        {
            Delimiter = delimiter[0],
            HasHeader = input.Header,
            NullTokens = input.NullTokens,
            BadRows = policy,
            QuarantinePath = policy == BadRowPolicy.Quarantine ? quarantinePath : null,
        };
    }

    private static async Task<(Table, JsonObject?)> ReadQueryAsync(ActivityContext context, IngestInput input, string query, CancellationToken ct)
    {
        var connection = input.Connection
            ?? throw new ActivityException("input 'connection' is required with 'query'", retryable: false);
        if (input.Watermark is not { } wm)
        {
            var (plain, _) = await PostgresQuerySource.ReadAsync(connection, query, null, null, ct);
            return (plain, null);
        }
        var column = (wm as JsonObject)?["column"]?.GetValue<string>()
            ?? throw new ActivityException("watermark.column is required (the column whose maximum is kept between runs)", retryable: false);
        var key = wm["key"]?.GetValue<string>() ?? PostgresQuerySource.DefaultKey(connection, query, column);
        var state = ActivityServices.TryFrom(context)?.Watermarks
            ?? throw new ActivityException("incremental ingest needs the activity state store, but this worker was started without it", retryable: false);
        var previous = PostgresQuerySource.Watermark.FromJson(await state.LatestAsync(key, ct));
        if (previous is not null && previous.Column != column)
            throw new ActivityException($"watermark key '{key}' tracks column '{previous.Column}', not '{column}'; give a new watermark.key", retryable: false);
        var (table, next) = await PostgresQuerySource.ReadAsync(connection, query, column, previous, ct);
        // Proposed for this attempt only: it becomes the watermark when the attempt succeeds (see ActivityServices.Watermarks).
        if (next is not null && next != previous) await state.ProposeAsync(key, context.StepRunId, context.Attempt, next.ToJson(), ct);
        context.Log.Write($"watermark {column}: {previous?.Value ?? "(none)"} → {next?.Value ?? "(none)"}, {table.RowCount} new rows");
        return (table, new JsonObject { ["key"] = key, ["column"] = column, ["previous"] = previous?.Value, ["current"] = next?.Value });
    }
}
