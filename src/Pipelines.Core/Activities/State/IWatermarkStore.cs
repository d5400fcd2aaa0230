using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities.State;

/// <summary>
/// Small JSON values activities keep between runs, such as an incremental ingest's watermark. An attempt
/// <see cref="ProposeAsync">proposes</see> a value; <see cref="LatestAsync"/> returns only values of attempts that
/// succeeded, so state advances together with the step's committed outputs and never ahead of them.
/// </summary>
public interface IWatermarkStore
{
    Task<JsonNode?> LatestAsync(string key, CancellationToken ct = default);

    Task ProposeAsync(string key, Guid stepRunId, int attempt, JsonNode value, CancellationToken ct = default);
}
