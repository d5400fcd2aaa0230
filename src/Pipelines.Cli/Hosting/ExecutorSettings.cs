using System.CommandLine;
using Pipelines.Api.Auth;
using Pipelines.Engine.Logging;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Workers;
using Pipelines.Executors.Hangfire;

namespace Pipelines.Cli.Hosting;

/// <summary>
/// <c>--executor native|hangfire</c> for a worker pool (<c>pipelines worker</c>, <c>pipelines server --workers</c>):
/// how its available steps reach it. Hangfire's queues are the worker's queues unless mapped with
/// <c>--hangfire-queue QUEUE=HANGFIRE_QUEUE</c>.
/// </summary>
public sealed record ExecutorSettings(string Executor, HangfireExecutorOptions Hangfire)
{
    public bool IsHangfire => Executor == HangfireExecutor.ExecutorName;

    public static Option<string> ExecutorOption() => new("--executor")
    {
        Description = "How steps reach this worker pool: native (the engine's claim loop) or hangfire (Hangfire jobs; see README \"Hangfire executor\").",
        DefaultValueFactory = _ => NativeExecutor.ExecutorName,
    };

    public static Option<string[]> HangfireQueueOption() => new("--hangfire-queue")
    {
        Description = "With --executor hangfire: QUEUE=HANGFIRE_QUEUE, the Hangfire queue a Pipelines queue's steps go to (repeatable; default: the same name).",
    };

    /// <summary>The settings, checked now (a bad value is an error naming the option), against the pool's queues.</summary>
    public static ExecutorSettings Parse(string executor, string[]? hangfireQueues, IReadOnlyList<string> queues)
    {
        if (executor is not (NativeExecutor.ExecutorName or HangfireExecutor.ExecutorName))
            throw new SettingException($"--executor '{executor}': expected native or hangfire");
        if (executor == NativeExecutor.ExecutorName && hangfireQueues is { Length: > 0 })
            throw new SettingException("--hangfire-queue needs --executor hangfire");
        try
        {
            var map = HangfireQueues.ParseMapping(hangfireQueues ?? []);
            if (executor == HangfireExecutor.ExecutorName)
                foreach (var q in queues) HangfireQueues.Map(q, map);
            return new ExecutorSettings(executor, new HangfireExecutorOptions { QueueMap = map });
        }
        catch (ArgumentException e)
        {
            throw new SettingException(e.Message);
        }
    }

    /// <summary>The Hangfire Dashboard on this database's Hangfire storage, behind the admin role.</summary>
    public Pipelines.Api.Hosting.ApiExtension Dashboard(EngineContext engine)
    {
        var storage = HangfireStorage.Create(engine.DataSource, Hangfire);
        return new Pipelines.Api.Hosting.ApiExtension(HangfireDashboard.AddServices,
            endpoints => HangfireDashboard.Map(endpoints, storage).Requires(Pipelines.Api.Domain.Role.Admin));
    }

    /// <summary>The executor the engine host makes for a worker; null: the native claim loop.</summary>
    public Func<IWakeups, IStepExecutor>? Factory(EngineContext engine, Action<string> log) =>
        IsHangfire ? wakeups => new HangfireExecutor(engine.DataSource, engine.Store, wakeups, Hangfire, log: new LineLogger(log)) : null;
}
