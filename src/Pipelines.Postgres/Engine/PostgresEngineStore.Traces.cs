using System.Diagnostics;
using Pipelines.Engine.Storage;

namespace Pipelines.Postgres.Engine;

public sealed partial class PostgresEngineStore : IRunTraces
{
    public async Task<string?> TraceParentAsync(Guid runId, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "RunTrace", ("run_id", runId));
        return await cmd.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>A span's W3C traceparent; null for no span or a span in the legacy hierarchical format.</summary>
    private static string? TraceParentOf(Activity? span) =>
        span is { IdFormat: ActivityIdFormat.W3C, Id: { Length: <= 256 } id } ? id : null;
}
