using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Npgsql;
using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;
using Pipelines.Engine.Triggers;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

/// <summary>
/// The engine's state in PostgreSQL. Every operation that changes a run first locks the run's row, so
/// changes to one run are serialised (and cannot deadlock each other) while different runs proceed in
/// parallel; job claims touch only available rows and skip locked ones.
/// </summary>
public sealed partial class PostgresEngineStore : IRunStore, IJobQueue, IMaintenance
{
    private readonly NpgsqlDataSource _db;
    private readonly Lazy<ActivityRegistry> _registry;
    private ActivityRegistry Registry => _registry.Value;
    private readonly TimeProvider _time;
    private readonly PostgresEngineOptions _options;
    private readonly Func<double> _random;
    private readonly ConcurrentDictionary<long, WorkflowDefinition> _definitions = new();
    private readonly PostCommitNotifier _notifier;
    private readonly ITriggerFiles _triggerFiles;
    // Wake-ups decided inside a transaction, sent once it committed (see PostCommitNotifier for why not inside).
    // Likewise the fan-outs whose items finished in a transaction: checked for closing once it committed.
    private readonly ConcurrentDictionary<NpgsqlTransaction, Outbox> _outbox = new();

    private sealed class Outbox
    {
        public readonly List<(string Channel, string Payload)> Wakeups = new();
        public readonly List<(Guid RunId, Guid ParentId)> FanOuts = new();
    }

    public PostgresEngineStore(NpgsqlDataSource db, ActivityRegistry registry, TimeProvider? time = null,
        PostgresEngineOptions? options = null, Func<double>? random = null)
        : this(db, new Lazy<ActivityRegistry>(() => registry), time, options, random)
    {
    }

    /// <summary>
    /// With the registry built on first need: only submitting and advancing runs consult it, so a process that only
    /// reads runs (e.g. <c>pipelines runs list</c>) does not pay for scanning every activity.
    /// </summary>
    public PostgresEngineStore(NpgsqlDataSource db, Lazy<ActivityRegistry> registry, TimeProvider? time = null,
        PostgresEngineOptions? options = null, Func<double>? random = null)
    {
        _db = db;
        _registry = registry;
        _time = time ?? TimeProvider.System;
        _options = options ?? new PostgresEngineOptions();
        _random = random ?? Random.Shared.NextDouble;
        _notifier = new PostCommitNotifier(db);
        _triggerFiles = _options.TriggerFiles ?? new LocalTriggerFiles();
    }

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    /// <summary>
    /// One transaction (retried on deadlock); the wake-ups it queued with <see cref="NotifyAsync"/> are sent after
    /// it committed, and the event stream is woken (every transaction here may have written event rows).
    /// </summary>
    private async Task<T> InTx<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct)
    {
        // Npgsql reuses a connection's transaction object: once ours committed and the connection went back to the
        // pool, another operation may already hold the same object as its key. So this transaction's outbox is
        // registered when it starts and removed only while it is still ours (key and value), never by key alone, or
        // that other operation's wake-ups and fan-out checks would be dropped (its fan-out then waited for the sweep).
        NpgsqlTransaction? last = null;
        Outbox? mine = null;
        try
        {
            var result = await Db.InTransactionAsync(_db, async (conn, tx) =>
            {
                if (last is not null) _outbox.TryRemove(KeyValuePair.Create(last, mine!)); // an aborted try's wake-ups are void
                last = tx;
                mine = new Outbox();
                _outbox[tx] = mine;
                return await work(conn, tx);
            }, ct);
            _outbox.TryRemove(KeyValuePair.Create(last!, mine!));
            var outbox = mine!;
            {
                foreach (var (channel, payload) in outbox.Wakeups) _notifier.Notify(channel, payload);
                foreach (var (runId, parentId) in outbox.FanOuts.Distinct())
                {
                    // The change is committed: failing here must not look like a failed completion (the worker would
                    // retry it and find it done). A parent left open is closed by the leader's sweep.
                    try { await CloseFanOutIfDoneAsync(runId, parentId, ct); }
                    catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException) { }
                }
            }
            _notifier.EventsWritten();
            return result;
        }
        finally
        {
            if (last is not null) _outbox.TryRemove(KeyValuePair.Create(last, mine!));
        }
    }

    /// <summary>Definitions are immutable per version, so each process parses a version once.</summary>
    private async Task<WorkflowDefinition> DefinitionAsync(NpgsqlConnection conn, NpgsqlTransaction tx, long versionId, CancellationToken ct)
    {
        if (_definitions.TryGetValue(versionId, out var cached)) return cached;
        await using var cmd = Db.Cmd(conn, tx, "WorkflowSource", ("id", versionId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) throw new NotFoundException($"workflow version {versionId} not found");
        var definition = WorkflowParser.Parse(r.Get<string>("source_text"), r.Get<string>("source_path"));
        return _definitions.GetOrAdd(versionId, definition);
    }

    private async Task<long> UpsertVersionAsync(NpgsqlConnection conn, NpgsqlTransaction tx, WorkflowDefinition d, CancellationToken ct)
    {
        await using var cmd = Db.Cmd(conn, tx, "UpsertWorkflowVersion",
            ("name", d.Name), ("hash", d.ContentHash), ("path", d.SourcePath), ("text", d.SourceText), ("now", Now));
        var id = (long)(await cmd.ExecuteScalarAsync(ct))!;
        _definitions.TryAdd(id, d);
        return id;
    }

    /// <summary>Queues a wake-up that <see cref="InTx{T}"/> sends once <paramref name="tx"/> committed: no wake-up for work that never existed.</summary>
    private Task NotifyAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string channel, string payload, CancellationToken ct)
    {
        var list = _outbox.GetOrAdd(tx, _ => new Outbox()).Wakeups;
        lock (list) if (!list.Contains((channel, payload))) list.Add((channel, payload));
        return Task.CompletedTask;
    }

    internal static class Channels
    {
        public const string Jobs = "pipelines_jobs";
        public const string Cancel = "pipelines_cancel";
    }

    private sealed record LockedRun(Guid Id, RunState State, JsonObject Params, bool CancelRequested, long VersionId,
        string CreatedBy, DateTimeOffset? ScheduledFor, string Workflow, DateTimeOffset CreatedAt);

    private static async Task<LockedRun?> LockRunAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid runId, CancellationToken ct)
    {
        await using var cmd = Db.Cmd(conn, tx, "LockRun", ("id", runId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await ReadLockedRunAsync(r, runId, ct);
    }

    private static async Task<LockedRun?> ReadLockedRunAsync(NpgsqlDataReader r, Guid runId, CancellationToken ct)
    {
        if (!await r.ReadAsync(ct)) return null;
        return new LockedRun(runId, StateNames.ParseRun(r.Get<string>("state")), r.ReadObject("params")!, r.Get<bool>("cancel_requested"),
            r.Get<long>("workflow_version_id"), r.Get<string>("created_by"), r.ReadTimeOrNull("scheduled_for"), r.Get<string>("workflow_name"),
            r.ReadTime("created_at"));
    }
}
