namespace Pipelines.Api.Endpoints;

/// <summary>
/// The other direction of a trigger's lineage: the runs a run started (its success, or a monitor alert of one of its
/// steps, fired a declared trigger). <c>triggeredBy</c> on a run's detail is the event that started it.
/// </summary>
public static class TriggerEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        // Every event whose source is this run (the facts' run_id: a workflow_succeeded or monitor_alert event), with
        // the run it started, or the window's run it was de-duplicated into, or the error when its params did not bind.
        api.MapGet("/runs/{id:guid}/triggered", async (Guid id, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var rows = await Sql.ListAsync(db, """
                SELECT t.workflow_name, t.kind, t.source, e.occurred_at, e.run_id, e.deduplicated, e.error, r.state AS run_state,
                       e.event->>'step_id' AS step_id, e.event->>'batch' AS batch
                FROM trigger_events e
                JOIN workflow_triggers t ON t.id = e.trigger_id
                LEFT JOIN runs r ON r.id = e.run_id
                WHERE e.event->>'run_id' = @run AND NOT e.baseline
                ORDER BY e.occurred_at, t.workflow_name, e.event_key
                """, r => (JsonNode?)new JsonObject
                {
                    ["workflow"] = r.Get<string>("workflow_name"), ["on"] = r.Get<string>("kind"), ["source"] = r.Get<string>("source"),
                    ["occurredAt"] = r.TimeAt("occurred_at"), ["runId"] = r.GetOrDefault<Guid?>("run_id"), ["deduplicated"] = r.Get<bool>("deduplicated"),
                    ["error"] = r.StringOrNull("error"), ["state"] = r.StringOrNull("run_state"), ["step"] = r.StringOrNull("step_id"),
                    ["batch"] = r.StringOrNull("batch"),
                }, ct, Sql.Text("run", id.ToString()));
            return Results.Json(new JsonObject { ["items"] = new JsonArray([.. rows]), ["nextCursor"] = null });
        }).Requires(Role.Viewer).WithName("listTriggeredRuns");
    }
}
