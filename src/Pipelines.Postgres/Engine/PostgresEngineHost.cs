using Microsoft.Extensions.Logging;
using Npgsql;
using Pipelines.Engine.Logging;
using Pipelines.Core.Activities;
using Pipelines.Engine.Leadership;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Workers;

namespace Pipelines.Postgres.Engine;

/// <summary>
/// What one process runs to do work: a worker with its own wake-up listener, and a leader candidate (which also
/// runs <c>sweeps</c>, e.g. artifact collection, when it leads). Each starts on its own, so a host runs them as
/// two hosted services; <c>StartAsync</c> starts both for tests and benchmarks.
/// </summary>
public static class PostgresEngineHost
{
    /// <summary>Starts this process's worker and its leader candidate together (the CLI's hosted services start each on its own).</summary>
    /// <param name="executor">
    /// How available steps reach the worker, made from the process's wake-up listener; null: the native claim loop.
    /// One the host made is disposed (when it is disposable) after the worker has drained.
    /// </param>
    /// <returns>A task that completes once everything has stopped after <paramref name="ct"/> fired.</returns>
    public static async Task<Task> StartAsync(NpgsqlDataSource db, PostgresEngineStore store, ActivityRegistry registry, WorkerOptions options,
        TimeSpan leaderInterval, ILoggerFactory logs, CancellationToken ct, TimeProvider? time = null, IServiceProvider? services = null,
        IReadOnlyList<ILeaderSweep>? sweeps = null, Func<IWakeups, IStepExecutor>? executor = null)
    {
        var worker = await StartWorkerAsync(db, store, registry, options, logs, ct, time, services, executor);
        var leader = StartLeader(db, store, leaderInterval, logs, ct, sweeps);
        return Task.WhenAll(worker, leader);
    }

    /// <summary>
    /// Starts a worker with its own wake-up listener; returns once it listens, with a task that completes once it has
    /// drained after <paramref name="ct"/> fired.
    /// </summary>
    public static async Task<Task> StartWorkerAsync(NpgsqlDataSource db, PostgresEngineStore store, ActivityRegistry registry, WorkerOptions options,
        ILoggerFactory logs, CancellationToken ct, TimeProvider? time = null, IServiceProvider? services = null,
        Func<IWakeups, IStepExecutor>? executor = null)
    {
        var wakeups = new PostgresWakeups(db, logs.CreateLogger("Pipelines.Wakeups"));
        await wakeups.StartAsync(ct);
        var stepExecutor = executor?.Invoke(wakeups) ?? new NativeExecutor(store);
        var worker = new Worker(store, wakeups, registry, options, time, services, logs.CreateLogger("Pipelines.Worker"), traces: store,
            executor: stepExecutor);
        var running = worker.RunAsync(ct);
        return Task.Run(async () =>
        {
            try { await running; }
            finally
            {
                if (stepExecutor is IAsyncDisposable disposable) await disposable.DisposeAsync();
                await wakeups.DisposeAsync();
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// Starts a leader candidate: when it leads, it rescues expired leases, promotes due retries, fires schedules and
    /// triggers, and runs <paramref name="sweeps"/>. The task completes once it has stopped after <paramref name="ct"/> fired.
    /// </summary>
    public static Task StartLeader(NpgsqlDataSource db, PostgresEngineStore store, TimeSpan leaderInterval, ILoggerFactory logs,
        CancellationToken ct, IReadOnlyList<ILeaderSweep>? sweeps = null)
    {
        var election = new PostgresLeaderElection(db);
        var leader = new LeaderService(election, store, leaderInterval, logs.CreateLogger("Pipelines.Leader"), sweeps);
        var running = leader.RunAsync(ct);
        return Task.Run(async () =>
        {
            try { await running; }
            finally { await election.DisposeAsync(); }
        }, CancellationToken.None);
    }

    /// <summary>Renders every message to one line callback (the CLI's terminal, tests).</summary>
    public static ILoggerFactory LineLogs(Action<string> log) => new LineLoggerFactory(log);

    /// <summary>The same, with every message rendered to one line callback (the CLI's terminal, tests).</summary>
    public static Task<Task> StartAsync(NpgsqlDataSource db, PostgresEngineStore store, ActivityRegistry registry, WorkerOptions options,
        TimeSpan leaderInterval, Action<string> log, CancellationToken ct, TimeProvider? time = null, IServiceProvider? services = null,
        IReadOnlyList<ILeaderSweep>? sweeps = null, Func<IWakeups, IStepExecutor>? executor = null) =>
        StartAsync(db, store, registry, options, leaderInterval, new LineLoggerFactory(log), ct, time, services, sweeps, executor);

    private sealed class LineLoggerFactory(Action<string> write) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new LineLogger(write);
        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("a line logger has one destination");
        public void Dispose() { }
    }
}
