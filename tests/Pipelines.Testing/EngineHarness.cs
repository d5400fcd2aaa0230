using System.Text.Json.Nodes;
using Pipelines.Activities;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Workers;
using Pipelines.Postgres.Engine;

namespace Pipelines.Testing;

/// <summary>A fresh database plus a store, with helpers to submit inline workflows and to run in-process workers.</summary>
public sealed class EngineHarness : IAsyncDisposable
{
    private readonly List<(CancellationTokenSource Stop, Task Task)> _processing = new();

    private EngineHarness(TestDatabase db, ActivityRegistry registry, TimeProvider time, PostgresEngineStore store)
    {
        Database = db;
        Registry = registry;
        Time = time;
        Store = store;
    }

    public TestDatabase Database { get; }
    public ActivityRegistry Registry { get; }
    public TimeProvider Time { get; }
    public PostgresEngineStore Store { get; }
    public List<string> Log { get; } = new();

    public static async Task<EngineHarness> CreateAsync(TimeProvider? time = null, PostgresEngineOptions? options = null, Func<double>? random = null,
        Action<ActivityRegistry>? register = null)
    {
        var db = await TestPostgres.CreateDatabaseAsync();
        var registry = BuiltinActivities.CreateRegistry();
        register?.Invoke(registry);
        time ??= TimeProvider.System;
        return new EngineHarness(db, registry, time, new PostgresEngineStore(db.DataSource, registry, time, options, random));
    }

    public PostgresEngineStore NewStore(TimeProvider? time = null) => new(Database.DataSource, Registry, time ?? Time);

    public WorkflowDefinition Load(string yaml, string path = "test.yaml") => WorkflowValidator.LoadText(yaml, path, Registry);

    public Task<Guid> SubmitAsync(string yaml, JsonObject? parameters = null, string user = "alice")
    {
        var d = Load(yaml);
        return Store.SubmitRunAsync(new SubmitRun(d, ParameterBinder.Bind(d, parameters ?? new JsonObject()), user));
    }

    public async Task<RunDetails> RunAsync(Guid runId) => (await Store.GetRunAsync(runId))!;

    public StepRunView Step(RunDetails run, string stepId) => run.Steps.Single(s => s.StepId == stepId && s.ItemIndex is null);

    /// <summary>Starts in-process workers (each with its own wake-up listener) and a leader candidate.</summary>
    /// <param name="executor">How steps reach each worker (null: the native claim loop).</param>
    public async Task StartWorkersAsync(int count = 1, WorkerOptions? options = null, TimeSpan? leaderInterval = null, IServiceProvider? services = null,
        Func<Pipelines.Engine.Storage.IWakeups, IStepExecutor>? executor = null)
    {
        for (var i = 0; i < count; i++)
        {
            var stop = new CancellationTokenSource();
            var task = await PostgresEngineHost.StartAsync(Database.DataSource, Store, Registry,
                (options ?? new WorkerOptions()) with { Id = $"w{_processing.Count}" }, leaderInterval ?? TimeSpan.FromMilliseconds(100),
                Record, stop.Token, Time, services, executor: executor);
            _processing.Add((stop, task));
        }
    }

    private void Record(string message)
    {
        lock (Log) Log.Add(message);
    }

    public Task<RunDetails> WaitForStateAsync(Guid runId, Func<RunDetails, bool> done, TimeSpan? timeout = null, string what = "run state") =>
        Eventually.WaitAsync(() => RunAsync(runId), done, timeout ?? TimeSpan.FromSeconds(30), what);

    public Task<RunDetails> WaitForEndAsync(Guid runId, TimeSpan? timeout = null) =>
        WaitForStateAsync(runId, r => r.Run.State.IsTerminal(), timeout, $"run {runId} to finish");

    public async Task StopWorkersAsync()
    {
        foreach (var (stop, _) in _processing) await stop.CancelAsync();
        foreach (var (_, task) in _processing) await task;
        _processing.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await StopWorkersAsync();
        await Database.DisposeAsync();
    }
}
