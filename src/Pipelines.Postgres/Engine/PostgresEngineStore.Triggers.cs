using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Core.Definitions;
using Pipelines.Core.Expressions;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Engine.Triggers;

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
                    var kind = TriggerDefinition.Parse(r.GetString(2))!.Value;
                    var rule = new TriggerDefinition(kind, r.GetString(3), new JsonObject(),
                        r.IsDBNull(4) ? null : TimeSpan.FromMilliseconds(r.GetInt64(4)), TimeSpan.FromMilliseconds(r.GetInt64(5)),
                        SourceLocation.None("database"));
                    triggers.Add(new TriggerRow(r.GetInt64(0), r.GetString(1), rule, r.ReadTime(6), r.ReadTimeOrNull(7)));
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
                        var runId = r.GetGuid(0);
                        events.Add(new TriggerEvent(TriggerKind.WorkflowSucceeded, source, runId.ToString(), r.ReadTime(1), new JsonObject
                        {
                            ["workflow"] = source, ["run_id"] = runId.ToString(), ["params"] = r.ReadObject(2) ?? new JsonObject(),
                        }));
                    }
                return events;
            case TriggerKind.MonitorAlert:
                await using (var cmd = Db.Cmd(conn, null, "MonitorAlertEvents", ("source", source), ("from", from), ("trigger_id", t.Id)))
                await using (var r = await cmd.ExecuteReaderAsync(ct))
                    while (await r.ReadAsync(ct))
                    {
                        var runId = r.GetGuid(0);
                        var stepId = r.GetString(1);
                        events.Add(new TriggerEvent(TriggerKind.MonitorAlert, source, $"{runId}/{stepId}", r.ReadTime(3), new JsonObject
                        {
                            ["monitor"] = source, ["run_id"] = runId.ToString(), ["step_id"] = stepId, ["batch"] = r.GetString(2),
                            ["max_psi"] = r.IsDBNull(4) ? null : r.GetDouble(4), ["prediction_psi"] = r.IsDBNull(5) ? null : r.GetDouble(5),
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
                    while (await r.ReadAsync(ct)) seen.Add(r.GetString(0));
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
                versionId = r.GetInt64(0);
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
            list.Add(new TriggerView(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : TimeSpan.FromMilliseconds(r.GetInt64(4)), r.GetBoolean(5), r.ReadTime(6), r.GetInt64(7), r.GetInt64(8),
                r.ReadTimeOrNull(9), r.IsDBNull(10) ? null : r.GetGuid(10)));
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
        return new RunTriggerView(r.GetString(0), r.GetString(1), r.GetString(2), r.ReadTime(3), r.ReadObject(4) ?? new JsonObject(), r.GetInt32(5));
    }
}
