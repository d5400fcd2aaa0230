using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Core.Definitions;
using Pipelines.Core.Expressions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Triggers;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

/// <summary>Event triggers (<c>on:</c>): registration with the schedules' sync, detection and firing by the leader.</summary>
public sealed partial class PostgresEngineStore
{
    private sealed record TriggerRow(long Id, string Key, TriggerDefinition Rule, DateTimeOffset Since, DateTimeOffset? CheckedTo);

    /// <summary>Rows a scan reads at most (the SQL's LIMIT); a full page leaves the cursor, so the next scan reads on.</summary>
    private const int TriggerScanPage = 100;

    private async Task SyncTriggersAsync(NpgsqlConnection conn, NpgsqlTransaction tx, WorkflowDefinition d, CancellationToken ct)
    {
        if (d.Triggers.Count > 0)
        {
            var versionId = await UpsertVersionAsync(conn, tx, d, ct);
            foreach (var t in d.Triggers)
                await Db.Cmd(conn, tx, "UpsertTrigger", ("workflow", d.Name), ("key", t.Key), ("version_id", versionId), ("kind", t.KindName),
                    ("source", t.Source), ("window_ms", t.Window is { } w ? (long)w.TotalMilliseconds : null),
                    ("settle_ms", (long)t.Settle.TotalMilliseconds), ("now", Now)).ExecAsync(ct);
        }
        await using var cmd = Db.Cmd(conn, tx, "DisableDroppedTriggers", ("workflow", d.Name));
        cmd.Parameters.Add(Db.Typed("keys", NpgsqlDbType.Array | NpgsqlDbType.Text, d.Triggers.Select(t => t.Key).ToArray()));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<int> FireTriggersAsync(CancellationToken ct = default)
    {
        var triggers = new List<TriggerRow>();
        await using (var conn = await _db.OpenConnectionAsync(ct))
        {
            await using (var cmd = Db.Cmd(conn, null, "EnabledTriggers"))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
                while (await r.ReadAsync(ct))
                {
                    var kind = TriggerDefinition.Parse(r.Get<string>("kind"))!.Value;
                    var window = r.GetOrDefault<long?>("window_ms");
                    var rule = new TriggerDefinition(kind, r.Get<string>("source"), new JsonObject(),
                        window is { } ms ? TimeSpan.FromMilliseconds(ms) : null, TimeSpan.FromMilliseconds(r.Get<long>("settle_ms")),
                        SourceLocation.None("database"));
                    triggers.Add(new TriggerRow(r.Get<long>("id"), r.Get<string>("trigger_key"), rule, r.ReadTime("since"), r.ReadTimeOrNull("checked_to")));
                }
            var fired = 0;
            var now = _time.GetUtcNow();
            Exception? first = null;
            foreach (var t in triggers)
            {
                // One trigger's failure (a folder it cannot read, a workflow version that no longer starts) must not
                // stop the others; the first error is rethrown after all had their turn, for the leader's log.
                try
                {
                    var detected = await DetectAsync(conn, t, now, ct);
                    foreach (var e in detected.Where(e => TriggerFiring.Matches(t.Rule, e) && TriggerFiring.IsDue(t.Rule, e, t.Since, now)))
                        fired += await FireTriggerAsync(t, e, ct);
                    if (t.Rule.Kind == TriggerKind.File || detected.Count < TriggerScanPage)
                        await Db.Cmd(conn, null, "TriggerChecked", ("id", t.Id), ("checked_to", now.UtcDateTime)).ExecAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    first ??= new InvalidOperationException($"trigger {t.Rule.Key}: {e.Message}", e);
                }
            }
            if (first is not null) throw first;
            return fired;
        }
    }

    /// <summary>Events of the trigger's kind not yet recorded for it (files: every match, less those already recorded).</summary>
    private async Task<IReadOnlyList<TriggerEvent>> DetectAsync(NpgsqlConnection conn, TriggerRow t, DateTimeOffset now, CancellationToken ct)
    {
        var events = new List<TriggerEvent>();
        var source = t.Rule.Source;
        var from = TriggerFiring.ScanFrom(t.Since, t.CheckedTo).UtcDateTime;
        switch (t.Rule.Kind)
        {
            case TriggerKind.WorkflowSucceeded:
                await using (var cmd = Db.Cmd(conn, null, "SucceededRunEvents", ("source", source), ("from", from), ("trigger_id", t.Id)))
                await using (var r = await cmd.ExecuteReaderAsync(ct))
                    while (await r.ReadAsync(ct))
                    {
                        var runId = r.Get<Guid>("id");
                        events.Add(new TriggerEvent(TriggerKind.WorkflowSucceeded, source, runId.ToString(), r.ReadTime("finalized_at"), new JsonObject
                        {
                            ["workflow"] = source, ["run_id"] = runId.ToString(), ["params"] = r.ReadObject("params") ?? new JsonObject(),
                        }));
                    }
                return events;
            case TriggerKind.MonitorAlert:
                await using (var cmd = Db.Cmd(conn, null, "MonitorAlertEvents", ("source", source), ("from", from), ("trigger_id", t.Id)))
                await using (var r = await cmd.ExecuteReaderAsync(ct))
                    while (await r.ReadAsync(ct))
                    {
                        var runId = r.Get<Guid>("run_id");
                        var stepId = r.Get<string>("step_id");
                        events.Add(new TriggerEvent(TriggerKind.MonitorAlert, source, $"{runId}/{stepId}", r.ReadTime("recorded_at"), new JsonObject
                        {
                            ["monitor"] = source, ["run_id"] = runId.ToString(), ["step_id"] = stepId, ["batch"] = r.Get<string>("batch"),
                            ["max_psi"] = r.GetOrDefault<double?>("max_psi"), ["prediction_psi"] = r.GetOrDefault<double?>("prediction_psi"),
                        }));
                    }
                return events;
            default:
                var all = (await _triggerFiles.ListAsync(source, ct)).Select(f => FileEvents.ToEvent(source, f)).ToList();
                if (TriggerFiring.NeedsBaseline(t.Rule, t.CheckedTo))
                {
                    // What is there at the first scan is not new: recorded as seen, nothing fires.
                    await using var baseline = Db.Cmd(conn, null, "BaselineFileEvents", ("trigger_id", t.Id), ("now", Now));
                    baseline.Parameters.Add(Db.Typed("keys", NpgsqlDbType.Array | NpgsqlDbType.Text, all.Select(f => f.Key).ToArray()));
                    baseline.Parameters.Add(Db.Typed("times", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, all.Select(f => f.OccurredAt.UtcDateTime).ToArray()));
                    await baseline.ExecuteNonQueryAsync(ct);
                    return [];
                }
                // Only settled files are looked up, not every file in the folder.
                var files = all.Where(f => TriggerFiring.IsDue(t.Rule, f, t.Since, now)).ToList();
                if (files.Count == 0) return files;
                var seen = new HashSet<string>(StringComparer.Ordinal);
                await using (var cmd = Db.Cmd(conn, null, "SeenTriggerEvents", ("trigger_id", t.Id)))
                {
                    cmd.Parameters.Add(Db.Typed("keys", NpgsqlDbType.Array | NpgsqlDbType.Text, files.Select(f => f.Key).ToArray()));
                    await using var r = await cmd.ExecuteReaderAsync(ct);
                    while (await r.ReadAsync(ct)) seen.Add(r.Get<string>("event_key"));
                }
                return files.Where(f => !seen.Contains(f.Key)).ToList();
        }
    }

    /// <summary>Records one event and starts (or de-duplicates) its run, in one transaction under the trigger's lock.</summary>
    private Task<int> FireTriggerAsync(TriggerRow t, TriggerEvent e, CancellationToken ct) =>
        InTx(async (conn, tx) =>
        {
            long versionId;
            await using (var cmd = Db.Cmd(conn, tx, "LockTrigger", ("id", t.Id)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (!await r.ReadAsync(ct)) return 0; // disabled since
                versionId = r.Get<long>("workflow_version_id");
            }
            await using (var cmd = Db.Cmd(conn, tx, "TriggerEventSeen", ("trigger_id", t.Id), ("event_key", e.Key)))
                if (await cmd.ExecuteScalarAsync(ct) is not null) return 0; // another leader recorded it first

            var definition = await DefinitionAsync(conn, tx, versionId, ct);
            var trigger = definition.Triggers.FirstOrDefault(x => x.Key == t.Key);
            if (trigger is null) return 0;
            Guid? windowRun = null;
            if (trigger.Window is { } w)
                await using (var cmd = Db.Cmd(conn, tx, "WindowRun", ("trigger_id", t.Id), ("window_start", TriggerFiring.WindowStart(e.OccurredAt, w).UtcDateTime)))
                    windowRun = await cmd.ExecuteScalarAsync(ct) as Guid?;
            var facts = (JsonObject)e.Facts.DeepClone();
            facts["kind"] = trigger.KindName;
            facts["occurred_at"] = e.OccurredAt.ToString("O");

            async Task Record(Guid? runId, bool deduplicated, string? error)
            {
                await using var cmd = Db.Cmd(conn, tx, "InsertTriggerEvent", ("trigger_id", t.Id), ("event_key", e.Key), ("event", facts),
                    ("deduplicated", deduplicated), ("error", error), ("now", Now));
                cmd.Parameters.Add(Db.Typed("occurred_at", NpgsqlDbType.TimestampTz, e.OccurredAt.UtcDateTime));
                cmd.Parameters.Add(Db.Typed("run_id", NpgsqlDbType.Uuid, runId));
                await cmd.ExecuteNonQueryAsync(ct);
            }

            switch (TriggerFiring.Decide(trigger.Window, e.OccurredAt, _ => windowRun))
            {
                case TriggerDecision.Deduplicate d:
                    await Record(d.RunId, deduplicated: true, null);
                    return 0;
                case TriggerDecision.Start start:
                    JsonObject parameters;
                    try { parameters = ParameterBinder.Bind(definition, TriggerFiring.Params(trigger, e)); }
                    catch (Exception x) when (x is ExpressionException or WorkflowValidationException)
                    {
                        // Recorded with the reason, so the event does not retry on every sweep; the trigger list shows it.
                        await Record(null, deduplicated: false, $"cannot start '{definition.Name}': {x.Message}");
                        return 0;
                    }
                    var state = await AdmissionAsync(conn, tx, definition.Name, definition.Schedule?.MaxConcurrentRuns ?? int.MaxValue, ct);
                    var request = new SubmitRun(definition, parameters, TriggerFiring.CreatedBy(trigger)) { FromEvent = true };
                    var runId = await InsertRunAsync(conn, tx, request, versionId, state, ct);
                    if (start.WindowStart is { } ws)
                        await Db.Cmd(conn, tx, "InsertTriggerWindow", ("trigger_id", t.Id), ("window_start", ws.UtcDateTime), ("run_id", runId)).ExecAsync(ct);
                    await Record(runId, deduplicated: false, null);
                    if (state == RunState.Running) await AdvanceAsync(conn, tx, (await LockRunAsync(conn, tx, runId, ct))!, ct);
                    return 1;
                default:
                    return 0;
            }
        }, ct);

    public async Task<IReadOnlyList<TriggerView>> ListTriggersAsync(CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var cmd = Db.Cmd(conn, null, "ListTriggers");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<TriggerView>();
        while (await r.ReadAsync(ct))
        {
            var window = r.GetOrDefault<long?>("window_ms");
            list.Add(new TriggerView(r.Get<long>("id"), r.Get<string>("workflow_name"), r.Get<string>("kind"), r.Get<string>("source"),
                window is { } ms ? TimeSpan.FromMilliseconds(ms) : null, r.Get<bool>("enabled"), r.ReadTime("since"), r.Get<long>("events"),
                r.Get<long>("runs"), r.ReadTimeOrNull("last_event_at"), r.GetOrDefault<Guid?>("last_run_id")));
        }
        return list;
    }

    /// <summary>The event that started a run (lineage), or null when no declared trigger started it.</summary>
    public async Task<RunTriggerView?> GetTriggeredByAsync(Guid runId, CancellationToken ct = default)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        return await TriggeredByAsync(conn, null, runId, ct);
    }

    private static async Task<RunTriggerView?> TriggeredByAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, Guid runId, CancellationToken ct)
    {
        await using var cmd = Db.Cmd(conn, tx, "RunTriggeredBy", ("run_id", runId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return null;
        return new RunTriggerView(r.Get<string>("kind"), r.Get<string>("source"), r.Get<string>("event_key"), r.ReadTime("occurred_at"),
            r.ReadObject("event") ?? new JsonObject(), r.Get<int>("deduplicated"));
    }
}
