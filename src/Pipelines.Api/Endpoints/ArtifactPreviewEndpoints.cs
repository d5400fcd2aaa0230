using Pipelines.Data.Parquet;
using Pipelines.Storage;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Api.Endpoints;

/// <summary>
/// <c>GET /api/v1/artifacts/{id}/preview?rows=N</c>: what the run view shows of an artifact without downloading it —
/// a Parquet table's first rows, an HTML report (for an iframe with an empty <c>sandbox</c>), or the start of a text file.
/// </summary>
public static class ArtifactPreviewEndpoints
{
    public const int DefaultRows = 20;
    public const int MaxRows = 1000;
    /// <summary>HTML and text are previewed up to this many bytes; reports larger than this are downloaded instead.</summary>
    public const int MaxTextBytes = 4 << 20;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/artifacts/{id:guid}/preview", async (Guid id, HttpContext http, IArtifactRegistry registry, ApiServerOptions options) =>
        {
            var ct = http.RequestAborted;
            if (!ArtifactPreview.TryRows(http.Request.Query["rows"].ToString(), out var rows, out var why)) return Problems.Field("rows", why!);
            var a = await registry.GetAsync(id, ct);
            if (a is null) return Problems.NotFound($"artifact {id} not found");
            if (a.DeletedAt is not null) return Problems.Status(StatusCodes.Status410Gone, "Gone", $"artifact {id} was removed by artifact collection at {a.DeletedAt:u}");
            var kind = ArtifactPreview.KindOf(a.Name, a.MediaType);
            if (kind == PreviewKind.None) return Problems.NotFound($"artifact {id} ({a.Name}, {a.MediaType}) has no preview: download it instead");
            if (options.Artifacts is not { } store) return Problems.Status(StatusCodes.Status503ServiceUnavailable, "Unavailable", "no artifact store is configured");
            if (ArtifactStores.KeyOf(store, a.Uri) is not { } key)
                return Problems.Status(StatusCodes.Status409Conflict, "Conflict", $"artifact {id} lives in another store than this server's");
            await using var stream = await store.OpenReadAsync(key, null, ct);
            return kind == PreviewKind.Table
                ? await TableAsync(id, stream, rows, ct)
                : await TextAsync(stream, kind, a.Size, ct);
        }).Requires(Role.Viewer).WithName("previewArtifact");
    }

    private static async Task<IResult> TableAsync(Guid id, Stream stream, int rows, CancellationToken ct)
    {
        // The Parquet footer is at the end: a store's stream that cannot seek is copied to a temporary file first.
        string? temp = null;
        Stream seekable = stream;
        try
        {
            if (!stream.CanSeek)
            {
                temp = Path.GetTempFileName();
                seekable = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
                await stream.CopyToAsync(seekable, ct);
                seekable.Position = 0;
            }
            using var reader = new ParquetReader(seekable, leaveOpen: true);
            // Nested columns have no flat cell to show; the preview leaves them out rather than failing.
            var fields = reader.Columns.Where(c => !c.IsNested && c.Field is not null).Select(c => c.Field!).ToList();
            var readable = fields.Select(f => f.Name).ToList();
            var columns = new JsonArray([.. fields.Select(f => (JsonNode?)new JsonObject { ["name"] = f.Name, ["type"] = f.Type.ToString() })]);
            var data = new JsonArray();
            foreach (var table in reader.ReadRowGroups(readable))
            {
                for (var r = 0; r < table.RowCount && data.Count < rows; r++)
                    data.Add(new JsonArray([.. table.Columns.Select(c => ArtifactPreview.Cell(c, r))]));
                if (data.Count >= rows) break;
            }
            return Results.Json(new JsonObject { ["kind"] = "table", ["totalRows"] = reader.RowCount, ["columns"] = columns, ["rows"] = data });
        }
        catch (ParquetFormatException e)
        {
            return Problems.Status(StatusCodes.Status422UnprocessableEntity, "Unprocessable", $"artifact {id} is not a readable Parquet file: {e.Message}");
        }
        finally
        {
            if (temp is not null) await seekable.DisposeAsync();
        }
    }

    private static async Task<IResult> TextAsync(Stream stream, PreviewKind kind, long size, CancellationToken ct)
    {
        var buffer = new byte[(int)Math.Min(size, MaxTextBytes)];
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        var truncated = size > read;
        return Results.Json(kind == PreviewKind.Html
            ? new JsonObject { ["kind"] = "html", ["html"] = text, ["truncated"] = truncated }
            : new JsonObject { ["kind"] = "text", ["text"] = text, ["truncated"] = truncated });
    }
}
