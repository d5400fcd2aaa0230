using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities;

/// <summary>What a kind is, apart from its schemas.</summary>
/// <param name="Cacheable">
/// False for activities whose result depends on more than their inputs (a file path or URL whose content
/// may change, a database query): the step cache never reuses their outputs.
/// </param>
public sealed record ActivityInfo(string Kind, string Version, string Description, bool Cacheable = true);

/// <summary>
/// An activity class as the registry sees it: static members, so registering a kind needs neither an
/// instance nor reflection (<see cref="ActivityRegistry.Add{TActivity}"/>).
/// </summary>
public interface IActivityDefinition
{
    static abstract ActivityInfo Info { get; }

    static abstract JsonObject InputSchema { get; }

    static abstract JsonObject Outputs { get; }

    static abstract IActivity Create(IServiceProvider? services);
}

/// <summary>An activity whose inputs schema is that of its input record.</summary>
public interface IActivityDefinition<TInput> : IActivityDefinition where TInput : IActivityInput<TInput>
{
    static JsonObject IActivityDefinition.InputSchema => TInput.Schema;
}

/// <summary>An activity that receives its inputs bound to <typeparamref name="TInput"/>.</summary>
public abstract class Activity<TInput> : IActivity where TInput : IActivityInput<TInput>
{
    public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        TInput input;
        try { input = ActivityInputs.Bind<TInput>(context.Inputs); }
        catch (ActivityException e) { return Task.FromException<ActivityResult>(e); }
        return ExecuteAsync(input, context, cancellationToken);
    }

    protected abstract Task<ActivityResult> ExecuteAsync(TInput input, ActivityContext context, CancellationToken cancellationToken);
}
