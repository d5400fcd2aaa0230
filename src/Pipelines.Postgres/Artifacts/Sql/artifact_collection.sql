-- Artifact collection: named statements used by Artifacts/PostgresStrayArtifacts.cs (tables in migration 0006).

-- name: CollectEndedAttempts
-- Attempts that ended without success before the grace cutoff and whose folder in this store has not been
-- collected yet, in the order they ended (a keyset cursor, so a dry run or a deferred attempt does not stall the walk).
-- A stopped attempt is a gate's verdict, not a failure: its reports (drift, quarantine) explain why a run stopped and
-- stay, also after a retry of the run has cleared the step's outputs.
SELECT t.step_run_id, t.attempt, t.state, t.ended_at, sr.run_id, sr.step_id, sr.item_index
FROM attempts t
JOIN step_runs sr ON sr.id = t.step_run_id
WHERE t.state NOT IN ('running', 'succeeded', 'stopped')
  AND t.ended_at < @ended_before
  AND (@after_ended_at::timestamptz IS NULL
       OR (t.ended_at, t.step_run_id, t.attempt) > (@after_ended_at::timestamptz, @after_step_run_id::uuid, @after_attempt::int))
  AND NOT EXISTS (SELECT 1 FROM artifact_sweeps s
                  WHERE s.step_run_id = t.step_run_id AND s.attempt = t.attempt AND s.store = @store)
ORDER BY t.ended_at, t.step_run_id, t.attempt
LIMIT @limit;

-- name: CollectAttemptArtifacts
-- The registered artifacts of these attempts and, for each, whether it must be kept: when it, or anything made
-- from it (transitively, through the attempts that read it), was read by an attempt that succeeded, stopped with a
-- verdict or is still running; is named by a string value in committed step outputs (succeeded steps, and the
-- outputs a gate's stop verdict keeps) or in what unfinished steps and runs are about to use — its id as a whole
-- string, or its attempt-scoped key anywhere in a string (a URI, or text around one); or is the source of a model
-- version in the built-in registry.
WITH RECURSIVE
candidate AS (
    SELECT a.id, a.uri, a.size, a.step_run_id, a.attempt, a.deleted_at, a.created_at
    FROM artifacts a
    JOIN unnest(@step_run_ids::uuid[], @attempts::int[]) AS g(step_run_id, attempt)
      ON a.step_run_id = g.step_run_id AND a.attempt = g.attempt
),
-- Each candidate with everything made from it, transitively: what the attempts that read it produced, and so on.
derived (root, id, uri) AS (
    SELECT c.id, c.id, c.uri FROM candidate c
    UNION
    SELECT d.root, p.id, p.uri
    FROM derived d
    JOIN artifact_inputs ai ON ai.artifact_id = d.id
    JOIN artifacts p ON p.step_run_id = ai.step_run_id AND p.attempt = ai.attempt
),
-- key: the attempt-scoped part of the URI (attempts/STEPRUN/N/NAME); step_run_hex: its STEPRUN.
derived_keys AS (
    SELECT d.root, d.id, d.uri, k.key, substr(k.key, 10, 32) AS step_run_hex
    FROM derived d, LATERAL (SELECT substring(d.uri from 'attempts/[0-9a-f]{32}/[0-9]+/.*$') AS key) k
),
docs (doc) AS (
    -- Outputs are written when a step finishes, so only steps finished after the oldest candidate existed can
    -- name one (an hour of slack for the clocks of different machines).
    SELECT s.outputs FROM step_runs s
    WHERE s.outputs IS NOT NULL AND s.finalized_at >= (SELECT min(created_at) FROM candidate) - interval '1 hour'
    UNION ALL
    SELECT s.inputs FROM step_runs s WHERE s.finalized_at IS NULL AND s.inputs IS NOT NULL
    UNION ALL
    SELECT s.item FROM step_runs s WHERE s.finalized_at IS NULL AND s.item IS NOT NULL
    UNION ALL
    SELECT r.params FROM runs r WHERE r.finalized_at IS NULL
),
strings (t) AS (
    SELECT v #>> '{}' FROM docs, jsonb_path_query(docs.doc, 'strict $.** ? (@.type() == "string")') AS v
),
-- Every occurrence of "attempts/" in a string, with the step run it names (split, not a regex: this runs over all
-- outputs of the window, and string functions are several times faster).
mentioned_keys (step_run_hex, t) AS MATERIALIZED (
    SELECT left(p.piece, 32), s.t
    FROM strings s, string_to_table(s.t, 'attempts/') WITH ORDINALITY AS p(piece, i)
    WHERE strpos(s.t, 'attempts/') > 0 AND p.i > 1
),
kept (root) AS (
    SELECT d.root FROM derived_keys d
    WHERE EXISTS (SELECT 1 FROM artifact_inputs ai
                  JOIN attempts t ON t.step_run_id = ai.step_run_id AND t.attempt = ai.attempt
                  WHERE ai.artifact_id = d.id AND t.state IN ('succeeded', 'stopped', 'running'))
    UNION
    SELECT d.root FROM strings s JOIN derived_keys d ON d.id::text = s.t WHERE length(s.t) = 36
    UNION
    SELECT d.root FROM derived_keys d JOIN mentioned_keys m ON m.step_run_hex = d.step_run_hex AND strpos(m.t, d.key) > 0
    UNION
    SELECT d.root FROM derived_keys d JOIN mlflow_model_versions v ON v.source = d.uri
    UNION
    SELECT d.root FROM derived_keys d JOIN mlflow_model_version_tags vt ON vt.key = 'pipelines.artifact' AND vt.value = d.id::text
)
SELECT c.id, c.uri, c.size, c.step_run_id, c.attempt, c.id IN (SELECT root FROM kept) AS kept, c.deleted_at IS NOT NULL AS deleted
FROM candidate c
ORDER BY c.uri;

-- name: CollectMarkDeleted
UPDATE artifacts SET deleted_at = @at WHERE id = ANY (@ids) AND deleted_at IS NULL;

-- name: CollectMarkSwept
INSERT INTO artifact_sweeps (step_run_id, attempt, store, swept_at, removed, removed_bytes)
SELECT g.step_run_id, g.attempt, @store, @at, g.removed, g.removed_bytes
FROM unnest(@step_run_ids::uuid[], @attempts::int[], @removed::int[], @removed_bytes::bigint[]) AS g(step_run_id, attempt, removed, removed_bytes)
ON CONFLICT (step_run_id, attempt, store) DO NOTHING;
