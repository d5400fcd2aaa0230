using System.CommandLine;
using System.Runtime.InteropServices;
using Pipelines.Cli.Hosting;
using Pipelines.Core.Validation;
using Pipelines.Engine.Workers;
using Pipelines.Core.Definitions;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines worker</c>: a long-running worker process (also a leader candidate). Stops gracefully on SIGTERM/SIGINT.</summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var queues = new Option<string>("--queues") { Description = "Comma-separated queues to take jobs from.", DefaultValueFactory = _ => "default" };
        var concurrency = new Option<int>("--concurrency") { Description = "Jobs run at once.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var lease = new Option<string>("--lease") { Description = "Lease duration (e.g. 30s): a killed worker's step runs again about this long after.", DefaultValueFactory = _ => "4s" };
        var heartbeat = new Option<string>("--heartbeat") { Description = "Heartbeat interval (e.g. 5s); shorter than the lease.", DefaultValueFactory = _ => "1s" };
        var poll = new Option<string>("--poll") { Description = "Polling fallback interval.", DefaultValueFactory = _ => "1s" };
        var leaderInterval = new Option<string>("--leader-interval") { Description = "How often the leader sweeps.", DefaultValueFactory = _ => "500ms" };
        var grace = new Option<string>("--shutdown-grace") { Description = "On SIGTERM, how long in-flight steps may finish before being handed back.", DefaultValueFactory = _ => "10s" };
        var workflows = new Option<string[]>("--workflows") { Description = "Workflow files or folders whose schedules this process registers at start." };
        var executor = ExecutorSettings.ExecutorOption();
        var hangfireQueues = ExecutorSettings.HangfireQueueOption();
        var db = CommonOptions.Database();
        var command = new Command("worker", "Run a worker process.")
            { queues, concurrency, lease, heartbeat, poll, leaderInterval, grace, workflows, executor, hangfireQueues, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            // Step spans go to the OTLP collector named the standard way, joining the traces of the requests that started the runs.
            using var tracing = Pipelines.Api.Hosting.Telemetry.WorkerTracing(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
            var queueList = parse.GetValue(queues)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var executorSettings = ExecutorSettings.Parse(parse.GetValue(executor)!, parse.GetValue(hangfireQueues), queueList);
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var files = SchedulesCommand.ExpandWorkflowFiles(parse.GetValue(workflows) ?? []);
            if (files.Count > 0)
                await engine.Store.SyncAsync(files.Select(f => WorkflowValidator.Load(f, engine.Registry)).ToList(), ct);

            var options = new WorkerOptions
            {
                Queues = queueList,
                Concurrency = parse.GetValue(concurrency),
                Lease = Durations.Parse(parse.GetValue(lease)!),
                HeartbeatInterval = Durations.Parse(parse.GetValue(heartbeat)!),
                PollInterval = Durations.Parse(parse.GetValue(poll)!),
                ShutdownGrace = Durations.Parse(parse.GetValue(grace)!),
            };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            Console.WriteLine($"worker {options.Id} started: queues {string.Join(",", options.Queues)}, concurrency {options.Concurrency}, executor {executorSettings.Executor}");
            var (worker, leader) = engine.HostedServices(options, Durations.Parse(parse.GetValue(leaderInterval)!),
                m => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {m}"), executorSettings);
            using (worker)
            using (leader)
            {
                await worker.StartAsync(ct);
                await leader.StartAsync(ct);
                // Until SIGTERM or SIGINT, or until worker or leader ends on its own; then both stop, the worker draining (the shutdown grace).
                await Task.WhenAny(worker.Completion, leader.Completion, Task.Delay(Timeout.Infinite, stop.Token));
                await Task.WhenAll(worker.StopAsync(CancellationToken.None), leader.StopAsync(CancellationToken.None));
            }
            Console.WriteLine($"worker {options.Id} stopped");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
