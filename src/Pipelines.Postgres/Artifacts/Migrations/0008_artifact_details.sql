-- One artifact with its producer (step, run, workflow version, attempt state), in the column order the registry
-- reads (Artifacts/PostgresArtifactRegistry.cs, ReadArtifact): the registry's lookups, listings and lineage select
-- from it instead of each repeating the same joins.
CREATE VIEW artifact_details AS
SELECT a.id, a.uri, a.sha256, a.size, a.media_type, a.kind, a.name, a.schema::text AS schema, a.row_count, a.created_at,
       a.step_run_id, a.attempt, sr.run_id, sr.step_id, sr.item_index, sr.kind AS activity_kind, sr.activity_version,
       r.workflow_name, wv.content_hash, a.deleted_at, at.state AS attempt_state
FROM artifacts a
LEFT JOIN step_runs sr ON sr.id = a.step_run_id
LEFT JOIN attempts at ON at.step_run_id = a.step_run_id AND at.attempt = a.attempt
LEFT JOIN runs r ON r.id = sr.run_id
LEFT JOIN workflow_versions wv ON wv.id = r.workflow_version_id;
