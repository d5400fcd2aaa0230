using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities;

/// <summary>
/// Services that depend on the pipeline run an attempt belongs to, such as the tracking server the run recorded
/// when it was submitted. A worker whose services implement this hands each attempt the view for its run (from
/// <see cref="ActivityContext.Run"/>), whichever process claimed it.
/// </summary>
public interface IRunScopedServices
{
    ValueTask<IServiceProvider> ForRunAsync(JsonObject run, CancellationToken ct);
}
