using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipelines.Core.Activities;
using Pipelines.Core.Retries;
using Pipelines.Engine.Model;
using Pipelines.Engine.Retries;
using Pipelines.Engine.Storage;

namespace Pipelines.Engine.Workers;

/// <summary>
/// Claims jobs from its queues and runs their activities, up to a fixed concurrency. Each claimed job is held
/// under a lease renewed by heartbeat; a lost lease or a cancel request cancels the activity's token.
/// </summary>
public sealed class Worker
{
    private readonly IJobQueue _queue;
    private readonly IStepExecutor _executor;
    private readonly IWakeups _wakeups;
    private readonly ActivityRegistry _registry;
    private readonly TimeProvider _time;
    private readonly WorkerOptions _options;
    private readonly IServiceProvider? _services;
    private readonly ILogger _log;
    private readonly StepTracing _tracing;
    private readonly ConcurrentDictionary<Guid, InFlight> _inFlight = new();
    private CancellationToken _stopping = new(canceled: true);

    // While the database is away (e.g. restarting), a finished attempt's result is written again soon and often, since
    // it is work already done (claims back off further: see NativeExecutor).
    private static readonly ExponentialBackoff WriteBackoff = new(TimeSpan.FromMilliseconds(50), 1.5, TimeSpan.FromSeconds(1), 0.2);
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public Worker(IJobQueue queue, IWakeups wakeups, ActivityRegistry registry, WorkerOptions options,
        TimeProvider? time = null, IServiceProvider? services = null, ILogger? log = null, IRunTraces? traces = null,
        IStepExecutor? executor = null)
    {
        options.Validate();
        _queue = queue;
        _executor = executor ?? new NativeExecutor(queue);
        _wakeups = wakeups;
        _registry = registry;
        _options = options;
        _time = time ?? TimeProvider.System;
        _services = services;
        _log = log ?? NullLogger.Instance;
        _tracing = new StepTracing(traces, _log);
    }

    public string Id => _options.Id;
    public WorkerOptions Options => _options;
    public int InFlightCount => _inFlight.Count;
    /// <summary>Slots free for another attempt (never negative).</summary>
    public int FreeSlots => Math.Max(0, _options.Concurrency - _inFlight.Count);
    public ILogger Log => _log;

    private enum StopReason { None, LeaseLost, Cancelled, TimedOut, Shutdown }

    private sealed class InFlight(ClaimedJob job, CancellationTokenSource cts)
    {
        public ClaimedJob Job { get; } = job;
        public CancellationTokenSource Cts { get; } = cts;
        public volatile StopReason Reason;
        public readonly StringBuilder Logs = new();
        public Task? Execution;

        public void Stop(StopReason reason)
        {
            if (Reason == StopReason.None) Reason = reason;
            try { Cts.Cancel(); } catch (ObjectDisposedException) { }
        }
    }

    /// <summary>Runs until <paramref name="stoppingToken"/> fires, then finishes or hands back in-flight work.</summary>
    /// <summary>
    /// Activities run their synchronous parts (native training, columnar loops) on thread-pool threads, so a busy worker
    /// can hold one pool thread per slot for minutes. The pool's hill climbing adds threads only about one per half
    /// second, so everything else in the process — heartbeats, the leader, and in <c>pipelines server</c> every HTTP
    /// request — would queue behind the steps (200 API clients beside a nightly saw 4 s stalls). The pool keeps ready
    /// threads for every slot plus two per core; it is never lowered (other workers in the process may need more).
    /// </summary>
    public static int MinimumPoolThreads(int concurrency, int processors, int current) => Math.Max(current, concurrency + 2 * processors);

    private static void ReserveThreads(int concurrency)
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        var wanted = MinimumPoolThreads(concurrency, Environment.ProcessorCount, workers);
        if (wanted > workers) ThreadPool.SetMinThreads(wanted, io);
    }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        ReserveThreads(_options.Concurrency);
        _wakeups.JobsAvailable += OnJobsAvailable;
        _wakeups.CancelRequested += OnCancelRequested;
        try
        {
            await RetryUntilAsync(() => _queue.RegisterWorkerAsync(new WorkerInfo(_options.Id, Environment.MachineName, Environment.ProcessId,
                _options.Queues, _options.Concurrency), stoppingToken), stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = Task.Run(() => HeartbeatLoopAsync(heartbeatStop.Token), CancellationToken.None);
        try
        {
            await _executor.RunAsync(this, stoppingToken);
        }
        finally
        {
            await DrainAsync();
            await heartbeatStop.CancelAsync();
            await heartbeat;
            _wakeups.JobsAvailable -= OnJobsAvailable;
            _wakeups.CancelRequested -= OnCancelRequested;
            try { await _queue.UnregisterWorkerAsync(_options.Id, CancellationToken.None); }
            catch (Exception e) { _log.LogWarning(e, "could not mark worker {WorkerId} stopped: {Error}", _options.Id, e.Message); }
            _tracing.Dispose();
        }
    }

    private void OnJobsAvailable(string queue)
    {
        if (queue == "*" || _options.Queues.Contains(queue)) _signal.Writer.TryWrite(true);
    }

    private void OnCancelRequested(Guid runId)
    {
        foreach (var f in _inFlight.Values.Where(f => f.Job.RunId == runId)) f.Stop(StopReason.Cancelled);
    }

    /// <summary>
    /// Waits until a wake-up names one of this worker's queues, a slot frees up, or <paramref name="timeout"/> passes
    /// (the fallback poll); returns early, without throwing, when <paramref name="ct"/> fires.
    /// </summary>
    public async Task WaitForWorkAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        poll.CancelAfter(timeout);
        try { await _signal.Reader.ReadAsync(poll.Token); }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Runs an attempt this worker has claimed (its lease is this worker's from now on: heartbeats renew it) and returns
    /// the task that ends once the attempt's end is recorded (or abandoned, when the lease was lost).
    /// </summary>
    public Task Start(ClaimedJob job)
    {
        var flight = new InFlight(job, new CancellationTokenSource());
        _inFlight[job.StepRunId] = flight;
        flight.Execution = Task.Run(async () =>
        {
            try { await ExecuteAsync(flight); }
            catch (Exception e) { _log.LogError(e, "worker {WorkerId}: step {StepId} ({StepRunId}) could not be recorded: {Error}", _options.Id, job.StepId, job.StepRunId, e.Message); }
            finally
            {
                _inFlight.TryRemove(job.StepRunId, out _);
                flight.Cts.Dispose();
                _signal.Writer.TryWrite(true);
            }
        });
        return flight.Execution!;
    }

    private async Task ExecuteAsync(InFlight flight)
    {
        var job = flight.Job;
        // The trace read must not be cut short by the attempt's token: a cancelled attempt is still recorded (and traced).
        using var stepSpan = _tracing.StartStep(job, _options.Id, await _tracing.RunContextAsync(job, CancellationToken.None));
        if (job.CancelRequested) flight.Stop(StopReason.Cancelled);
        if (job.Timeout is { } timeout)
        {
            var timer = _time.CreateTimer(_ => flight.Stop(StopReason.TimedOut), null, timeout, Timeout.InfiniteTimeSpan);
            flight.Cts.Token.Register(() => timer.Dispose());
        }
        AttemptOutcome outcome;
        System.Text.Json.Nodes.JsonObject? outputs = null;
        string? error = null;
        var retryable = false;
        try
        {
            flight.Cts.Token.ThrowIfCancellationRequested();
            var descriptor = _registry.Find(job.Kind, job.ActivityVersion)
                ?? throw new ActivityException($"activity {job.Kind}@{job.ActivityVersion} is not registered in worker {_options.Id}", retryable: false);
            var run = job.Run ?? new System.Text.Json.Nodes.JsonObject();
            // Some services belong to the run, not to this process (e.g. the tracking server the run recorded).
            var services = _services is IRunScopedServices scoped ? await scoped.ForRunAsync(run, flight.Cts.Token) : _services;
            var activity = descriptor.Factory!(services);
            var context = new ActivityContext
            {
                RunId = job.RunId, StepRunId = job.StepRunId, StepId = job.StepId, Attempt = job.Attempt, WorkerId = _options.Id,
                Inputs = job.Inputs, Run = run, Item = job.Item, ItemIndex = job.ItemIndex, Time = _time, Log = new BufferLog(flight.Logs),
                Services = services,
            };
            ActivityResult result;
            using (_tracing.StartActivity(job)) result = await activity.ExecuteAsync(context, flight.Cts.Token);
            outcome = result.Outcome == ActivityOutcome.Succeeded ? AttemptOutcome.Succeeded : AttemptOutcome.Stopped;
            outputs = result.Outputs;
            error = result.Reason;
        }
        catch (OperationCanceledException) when (flight.Reason != StopReason.None)
        {
            switch (flight.Reason)
            {
                case StopReason.LeaseLost:
                    // Someone else owns this step now; recording anything would be wrong.
                    _log.LogWarning("worker {WorkerId}: lease of {StepId} ({StepRunId}) lost; attempt {Attempt} abandoned", _options.Id, job.StepId, job.StepRunId, job.Attempt);
                    return;
                case StopReason.Shutdown:
                    await RetryUntilAsync(() => _queue.HandBackAsync(job.StepRunId, job.RunId, job.Attempt, _options.Id, Logs(flight), CancellationToken.None), CancellationToken.None);
                    return;
                case StopReason.TimedOut:
                    outcome = AttemptOutcome.TimedOut;
                    error = $"timed out after {job.Timeout}";
                    break;
                default:
                    outcome = AttemptOutcome.Cancelled;
                    error = "cancelled";
                    break;
            }
        }
        catch (ActivityException e)
        {
            outcome = AttemptOutcome.Failed;
            error = e.Message;
            // An activity that wrapped a database or network outage did not judge its input: retry by rule.
            retryable = e.Retryable || TransientFaults.IsTransient(e);
        }
        catch (Exception e)
        {
            outcome = AttemptOutcome.Failed;
            error = $"{e.GetType().Name}: {e.Message}";
            retryable = TransientFaults.IsTransient(e);
        }
        StepTracing.End(stepSpan, outcome, error);
        var completion = new JobCompletion(job.StepRunId, job.RunId, job.Attempt, _options.Id, outcome, outputs, error, retryable, Logs(flight),
            FanOutItem: job.ItemIndex is not null);
        // This attempt's slot goes straight to the next job, claimed in the completion's own transaction (unless
        // stopping): no extra round trip, no wait for a wake-up.
        IReadOnlyList<ClaimedJob> next = [];
        await RetryUntilAsync(async () =>
        {
            var claimNext = _executor.ClaimsOnCompletion && !_stopping.IsCancellationRequested;
            var result = await _queue.CompleteAndClaimAsync(completion, _options.Queues, claimNext ? 1 : 0, _options.Lease, CancellationToken.None);
            if (!result.Recorded)
                _log.LogWarning("worker {WorkerId}: {StepId} ({StepRunId}) attempt {Attempt} finished after its lease was lost; result dropped", _options.Id, job.StepId, job.StepRunId, job.Attempt);
            next = result.Next;
        }, CancellationToken.None);
        foreach (var claimed in next) _ = Start(claimed);
    }

    private static string Logs(InFlight f)
    {
        lock (f.Logs) return f.Logs.ToString();
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        var lastSuccess = _time.GetUtcNow();
        while (!ct.IsCancellationRequested)
        {
            await DelayQuietly(_options.HeartbeatInterval, ct);
            if (ct.IsCancellationRequested) break;
            var flights = _inFlight.Values.ToList();
            try
            {
                var result = await _queue.HeartbeatAsync(_options.Id, flights.Select(f => (f.Job.StepRunId, f.Job.Attempt)).ToList(), _options.Lease, ct);
                lastSuccess = _time.GetUtcNow();
                foreach (var f in flights)
                {
                    if (result.Lost.Contains(f.Job.StepRunId)) f.Stop(StopReason.LeaseLost);
                    else if (result.CancelRequested.Contains(f.Job.StepRunId)) f.Stop(StopReason.Cancelled);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                _log.LogWarning("worker {WorkerId}: heartbeat failed ({ErrorType}: {Error})", _options.Id, e.GetType().Name, e.Message);
                // Past the lease without a renewal, the leader may already have given our jobs to others.
                if (_time.GetUtcNow() - lastSuccess > _options.Lease)
                    foreach (var f in flights) f.Stop(StopReason.LeaseLost);
            }
        }
    }

    private async Task DrainAsync()
    {
        var deadline = Task.Delay(_options.ShutdownGrace);
        // Repeated: a completion that was already under way when the stop came may have claimed one more job.
        for (var round = 0; ; round++)
        {
            var pending = _inFlight.Values.Select(f => f.Execution).OfType<Task>().ToArray();
            if (pending.Length == 0) return;
            if (round == 0)
                _log.LogInformation("worker {WorkerId}: waiting up to {ShutdownGrace} for {InFlight} in-flight step(s)", _options.Id, _options.ShutdownGrace, pending.Length);
            var all = Task.WhenAll(pending);
            if (await Task.WhenAny(all, deadline) != all)
            {
                foreach (var f in _inFlight.Values) f.Stop(StopReason.Shutdown);
                await all;
            }
        }
    }

    /// <summary>Keeps trying a database write through outages, so a finished attempt's result is not lost.</summary>
    private async Task RetryUntilAsync(Func<Task> action, CancellationToken ct)
    {
        for (var i = 1; ; i++)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not NotFoundException && i < 600)
            {
                _log.LogWarning("worker {WorkerId}: database call failed ({ErrorType}: {Error}); retrying", _options.Id, e.GetType().Name, e.Message);
                await DelayQuietly(WriteBackoff.Delay(i, Random.Shared.NextDouble()), ct);
            }
        }
    }

    private static async Task DelayQuietly(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
    }

    private sealed class BufferLog(StringBuilder buffer) : IActivityLog
    {
        public void Write(string message)
        {
            lock (buffer) buffer.Append(DateTimeOffset.UtcNow.ToString("HH:mm:ss.fff")).Append(' ').AppendLine(message);
        }
    }
}
