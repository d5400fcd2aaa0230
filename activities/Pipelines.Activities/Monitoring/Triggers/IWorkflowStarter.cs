using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;

namespace Pipelines.Activities.Monitoring.Triggers;

/// <summary>Starts a run of a workflow file with parameters (validated and bound as <c>pipelines run</c> does).</summary>
public interface IWorkflowStarter
{
    /// <summary>Starts the run and returns its id; bad workflows or parameters throw <see cref="WorkflowValidationException"/>.</summary>
    Task<Guid> StartAsync(string workflowPath, JsonObject parameters, string createdBy, CancellationToken ct);

    /// <summary>The workflow's name, read and validated without starting anything.</summary>
    string NameOf(string workflowPath);
}

/// <summary>Starts runs on the engine's own store: the run is queued for whichever workers serve the database.</summary>
public sealed class EngineWorkflowStarter(IRunCommands store, ActivityRegistry registry) : IWorkflowStarter
{
    public Task<Guid> StartAsync(string workflowPath, JsonObject parameters, string createdBy, CancellationToken ct)
    {
        var definition = WorkflowValidator.Load(workflowPath, registry);
        return store.SubmitRunAsync(new SubmitRun(definition, ParameterBinder.Bind(definition, parameters), createdBy), ct);
    }

    public string NameOf(string workflowPath) => WorkflowValidator.Load(workflowPath, registry).Name;
}
