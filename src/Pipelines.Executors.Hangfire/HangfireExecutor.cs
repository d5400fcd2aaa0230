using System.Threading.Channels;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.States;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Workers;
using Pipelines.Postgres.Engine;
using Pipelines.Postgres.Sql;

namespace Pipelines.Executors.Hangfire;

/// <summary>
/// Runs a worker's steps on Hangfire. The engine's available steps in the worker's queues are the outbox: every
/// available attempt is committed by the engine's own transaction, and a dispatcher turns each into a Hangfire job on
/// the mapped queue, recording (step, attempt) as dispatched in the same transaction that selected it. A crash between
/// the engine's commit and the enqueue loses nothing (the attempt is still available and not recorded, so it is
/// dispatched again); a crash after the enqueue but before the record enqueues it twice, which is harmless: the job
/// claims its attempt through the engine's guarded claim (<see cref="PostgresEngineStore.ClaimAttemptAsync"/>), which
/// only one delivery wins. This process's Hangfire server runs the jobs on the worker, whose leases and heartbeats
/// are the engine's: a dead server's attempt is rescued by the leader after the lease, not after Hangfire's
/// invisibility timeout.
/// </summary>
public sealed class HangfireExecutor : IStepExecutor, IAsyncDisposable
{
    public const string ExecutorName = "hangfire";

    private static readonly TimeSpan CleanupEvery = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan KeepDispatched = TimeSpan.FromDays(1);

    private readonly NpgsqlDataSource _db;
    private readonly PostgresEngineStore _store;
    private readonly IWakeups _wakeups;
    private readonly HangfireExecutorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private PostgreSqlStorage? _storage;
    private BackgroundJobServer? _server;
    private Worker? _worker;
    private HashSet<string> _queues = [];

    public HangfireExecutor(NpgsqlDataSource db, PostgresEngineStore store, IWakeups wakeups, HangfireExecutorOptions? options = null,
        TimeProvider? time = null, ILogger? log = null)
    {
        _db = db;
        _store = store;
        _wakeups = wakeups;
        _options = options ?? new HangfireExecutorOptions();
        HangfireStorage.ValidateSchema(_options.Schema);
        _time = time ?? TimeProvider.System;
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    public string Name => ExecutorName;

    /// <summary>Each attempt arrives as its own Hangfire job: a finishing attempt must not claim the next one itself.</summary>
    public bool ClaimsOnCompletion => false;

    /// <summary>Jobs enqueued on Hangfire so far by this executor (duplicates included).</summary>
    public long Enqueued => Interlocked.Read(ref _enqueued);
    private long _enqueued;

    /// <summary>Deliveries whose claim found nothing to run (a duplicate, late or stale job): fenced.</summary>
    public long Fenced => Interlocked.Read(ref _fenced);
    private long _fenced;

    public async Task RunAsync(Worker worker, CancellationToken stoppingToken)
    {
        _worker = worker;
        var options = worker.Options;
        _queues = options.Queues.ToHashSet();
        var hangfireQueues = options.Queues.Select(q => HangfireQueues.Map(q, _options.QueueMap)).Distinct().ToArray();
        _storage = HangfireStorage.Create(_db, _options);
        await EnsureOutboxAsync(stoppingToken);
        _server = new BackgroundJobServer(new BackgroundJobServerOptions
        {
            ServerName = options.Id,
            Queues = hangfireQueues,
            // One Hangfire worker per slot: Hangfire never fetches more attempts than the worker may run.
            WorkerCount = options.Concurrency,
            Activator = new StepJobActivator(this),
            ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(5),
        }, _storage);
        _wakeups.JobsAvailable += OnJobsAvailable;
        _log.LogInformation("worker {WorkerId}: steps of queues {Queues} run on Hangfire queues {HangfireQueues}", options.Id,
            string.Join(",", options.Queues), string.Join(",", hangfireQueues));
        try
        {
            await DispatchLoopAsync(options, stoppingToken);
        }
        finally
        {
            _wakeups.JobsAvailable -= OnJobsAvailable;
            // No new fetches; the attempts already running finish (or are handed back) in the worker's drain.
            _server.SendStop();
        }
    }

    private void OnJobsAvailable(string queue)
    {
        if (queue == "*" || _queues.Contains(queue)) _signal.Writer.TryWrite(true);
    }

    private async Task DispatchLoopAsync(WorkerOptions options, CancellationToken ct)
    {
        var failures = 0;
        var lastCleanup = DateTimeOffset.MinValue;
        var client = new BackgroundJobClient(_storage!);
        while (!ct.IsCancellationRequested)
        {
            var dispatched = 0;
            try
            {
                dispatched = await DispatchAsync(client, options.Queues, ct);
                failures = 0;
                if (_time.GetUtcNow() - lastCleanup > CleanupEvery)
                {
                    await CleanupAsync(ct);
                    lastCleanup = _time.GetUtcNow();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                // Database away: nothing is lost, the attempts stay available until a round gets through.
                failures++;
                _log.LogWarning("worker {WorkerId}: Hangfire dispatch failed ({ErrorType}: {Error}); retrying", options.Id, e.GetType().Name, e.Message);
                await DelayQuietly(TimeSpan.FromMilliseconds(Math.Min(2000, 200 * failures)), ct);
                continue;
            }
            if (dispatched >= _options.DispatchBatch) continue;
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
            poll.CancelAfter(options.PollInterval);
            try { await _signal.Reader.ReadAsync(poll.Token); }
            catch (OperationCanceledException) { }
        }
    }

    private string Table => $"{_options.Schema}.pipelines_dispatch";

    private async Task EnsureOutboxAsync(CancellationToken ct)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"""
            CREATE SCHEMA IF NOT EXISTS {_options.Schema};
            CREATE TABLE IF NOT EXISTS {Table} (
                step_run_id uuid NOT NULL,
                attempt int NOT NULL,
                job_id text,
                dispatched_at timestamptz NOT NULL,
                PRIMARY KEY (step_run_id, attempt));
            """, conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// One round: the available attempts not yet dispatched (or dispatched long ago and still waiting) are marked and
    /// enqueued, and the marks commit only after the enqueues; a second dispatcher waits on the marks and skips them.
    /// </summary>
    private async Task<int> DispatchAsync(IBackgroundJobClient client, IReadOnlyList<string> queues, CancellationToken ct)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var due = new List<(Guid Id, int Attempt, string Queue, Guid RunId, string StepId, int? Item, string Workflow)>();
        await using (var cmd = new NpgsqlCommand($"""
            WITH due AS (
                SELECT s.id, s.attempt + 1 AS attempt, s.queue, s.run_id, s.step_id, s.item_index, r.workflow_name, s.available_at
                FROM step_runs s JOIN runs r ON r.id = s.run_id
                WHERE s.state = 'available' AND s.queue = ANY(@queues) AND s.available_at <= @now
                  AND NOT EXISTS (SELECT 1 FROM {Table} d
                                  WHERE d.step_run_id = s.id AND d.attempt = s.attempt + 1 AND d.dispatched_at >= @redispatch_before)
                ORDER BY s.available_at, s.id
                LIMIT @max
            ), marked AS (
                INSERT INTO {Table} AS d (step_run_id, attempt, dispatched_at)
                SELECT id, attempt, @now FROM due
                ON CONFLICT (step_run_id, attempt) DO UPDATE SET dispatched_at = EXCLUDED.dispatched_at
                    WHERE d.dispatched_at < @redispatch_before
                RETURNING step_run_id, attempt
            )
            SELECT due.id, due.attempt, due.queue, due.run_id, due.step_id, due.item_index, due.workflow_name
            FROM due JOIN marked m ON m.step_run_id = due.id AND m.attempt = due.attempt
            ORDER BY due.available_at, due.id
            """, conn, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter("queues", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = queues.ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = now });
            cmd.Parameters.Add(new NpgsqlParameter("redispatch_before", NpgsqlDbType.TimestampTz) { Value = now - _options.RedispatchAfter });
            cmd.Parameters.AddWithValue("max", _options.DispatchBatch);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            // The dispatch loop's hot path: ordinals once per result set.
            int O(string column) => r.Ordinal(column);
            var (id, attempt, queue, run, step, item, workflow) =
                (O("id"), O("attempt"), O("queue"), O("run_id"), O("step_id"), O("item_index"), O("workflow_name"));
            while (await r.ReadAsync(ct))
                due.Add((r.GetGuid(id), r.GetInt32(attempt), r.GetString(queue), r.GetGuid(run), r.GetString(step),
                    r.IsDBNull(item) ? null : r.GetInt32(item), r.GetString(workflow)));
        }
        if (due.Count == 0) return 0;
        var ids = new List<(Guid, int, string)>(due.Count);
        foreach (var d in due)
        {
            var display = HangfireQueues.DisplayName(d.Workflow, d.RunId, d.StepId, d.Item, d.Attempt);
            var job = Job.FromExpression<StepJob>(j => j.RunAsync(d.Id, d.Attempt, d.RunId, d.StepId, display));
            var jobId = client.Create(job, new EnqueuedState(HangfireQueues.Map(d.Queue, _options.QueueMap)));
            Interlocked.Increment(ref _enqueued);
            ids.Add((d.Id, d.Attempt, jobId));
        }
        await using (var cmd = new NpgsqlCommand($"""
            UPDATE {Table} d SET job_id = j.job_id
            FROM unnest(@ids::uuid[], @attempts::int[], @jobs::text[]) AS j(id, attempt, job_id)
            WHERE d.step_run_id = j.id AND d.attempt = j.attempt
            """, conn, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids.Select(i => i.Item1).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = ids.Select(i => i.Item2).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = ids.Select(i => i.Item3).ToArray() });
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return due.Count;
    }

    private async Task CleanupAsync(CancellationToken ct)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"DELETE FROM {Table} WHERE dispatched_at < @before", conn);
        cmd.Parameters.Add(new NpgsqlParameter("before", NpgsqlDbType.TimestampTz) { Value = _time.GetUtcNow().UtcDateTime - KeepDispatched });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// A Hangfire delivery of (step, attempt): claims it through the engine's guarded claim and runs it on the worker,
    /// returning once its end is recorded. A delivery that finds nothing to claim ran twice or too late: it does nothing.
    /// </summary>
    internal async Task RunDeliveredAsync(Guid stepRunId, int attempt, Guid runId, string stepId)
    {
        var worker = _worker ?? throw new InvalidOperationException("the Hangfire executor's worker is not running");
        ClaimedJob? job = null;
        for (var i = 1; ; i++)
        {
            try
            {
                job = await _store.ClaimAttemptAsync(worker.Id, stepRunId, attempt, worker.Options.Lease);
                break;
            }
            catch (Exception e) when (i < 20)
            {
                // Database away: the attempt stays available; keep trying for a while (Hangfire's retry is off).
                _log.LogWarning("worker {WorkerId}: claim of {StepId} attempt {Attempt} failed ({ErrorType}: {Error}); retrying",
                    worker.Id, stepId, attempt, e.GetType().Name, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * i)));
            }
        }
        if (job is null)
        {
            Interlocked.Increment(ref _fenced);
            _log.LogInformation("worker {WorkerId}: Hangfire delivery of run {RunId} step {StepId} attempt {Attempt} found it taken or past; nothing run",
                worker.Id, runId, stepId, attempt);
            return;
        }
        await worker.Start(job);
    }

    private static async Task DelayQuietly(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        // Dispose blocks until Hangfire's workers have returned (the worker drained them already).
        if (_server is { } server) await Task.Run(server.Dispose);
    }
}
