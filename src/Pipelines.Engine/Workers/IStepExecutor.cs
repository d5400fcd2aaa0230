namespace Pipelines.Engine.Workers;

/// <summary>
/// How an available step reaches a worker. The worker owns what happens once an attempt is claimed (the activity,
/// its lease and heartbeats, recording its end); an executor owns how attempts get claimed for it: the native
/// claim loop (<see cref="NativeExecutor"/>), or another scheduler that delivers each attempt to the worker
/// (e.g. Hangfire, in Pipelines.Executors.Hangfire). Every executor claims through the engine's guarded
/// transitions, so what runs a step never changes who may record its outputs.
/// </summary>
public interface IStepExecutor
{
    /// <summary>The name configuration selects it by (<c>executor: native|hangfire</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Whether a finishing attempt may claim the worker's next step in its own transaction. True for the claim loop;
    /// false for an executor that delivers each attempt itself (a step claimed on completion would bypass it).
    /// </summary>
    bool ClaimsOnCompletion { get; }

    /// <summary>
    /// Brings steps to <paramref name="worker"/> (through <see cref="Worker.Start"/>) until <paramref name="stoppingToken"/>
    /// fires. The worker drains its in-flight attempts after this returns.
    /// </summary>
    Task RunAsync(Worker worker, CancellationToken stoppingToken);
}
