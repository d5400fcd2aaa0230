using Microsoft.Extensions.DependencyInjection;
using Pipelines.Core.Validation;

namespace Pipelines.Api.Hosting;

/// <summary>Loads shipped workflow files into the registry when absent (a deleted one stays deleted) and registers their schedules.</summary>
public static class WorkflowImport
{
    public static async Task<IReadOnlyList<string>> ImportAsync(WebApplication app, IReadOnlyList<string> files, CancellationToken ct)
    {
        var options = app.Services.GetRequiredService<ApiServerOptions>();
        var store = app.Services.GetRequiredService<WorkflowStore>();
        var definitions = files.Select(f => WorkflowValidator.Load(f, options.Registry)).ToList();
        var imported = new List<string>();
        foreach (var d in definitions)
        {
            if (await store.KnownAsync(d.Name, ct)) continue;
            if (await store.SaveAsync(d, "system", $"imported from {Path.GetFileName(d.SourcePath)}", create: true, ct) is not null)
                imported.Add(d.Name);
        }
        await options.Store.SyncAsync(definitions, ct);
        return imported;
    }
}
