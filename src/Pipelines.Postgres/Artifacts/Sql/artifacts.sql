-- The artifact registry: named statements used by Artifacts/PostgresArtifactRegistry.cs.

-- name: ArtifactInsert
INSERT INTO artifacts (id, uri, sha256, size, media_type, kind, name, schema, row_count, step_run_id, attempt, created_at)
VALUES (@id, @uri, @sha256, @size, @media_type, @kind, @name, @schema::jsonb, @row_count, @step_run_id, @attempt, @created_at)
ON CONFLICT (uri) DO NOTHING
RETURNING id;

-- name: ArtifactGet
SELECT * FROM artifact_details WHERE id = @id;

-- name: ArtifactGetByUri
SELECT * FROM artifact_details WHERE uri = @uri;

-- name: ArtifactList
SELECT * FROM artifact_details d
WHERE (@run_id::uuid IS NULL OR d.run_id = @run_id)
  AND (@kind::text IS NULL OR d.kind = @kind)
  AND (@sha256::text IS NULL OR d.sha256 = @sha256)
  AND (@uri_prefix::text IS NULL OR starts_with(d.uri, @uri_prefix))
  AND (@include_deleted OR d.deleted_at IS NULL)
ORDER BY d.created_at DESC, d.id
LIMIT @limit;

-- name: ArtifactInputInsert
INSERT INTO artifact_inputs (step_run_id, attempt, input_name, artifact_id, recorded_at)
VALUES (@step_run_id, @attempt, @input_name, @artifact_id, @recorded_at)
ON CONFLICT DO NOTHING;

-- name: ArtifactConsumers
SELECT ai.step_run_id, ai.attempt, ai.input_name, ai.recorded_at, sr.run_id, sr.step_id, sr.item_index, sr.kind, sr.activity_version,
       r.workflow_name, r.state AS run_state, at.state AS attempt_state
FROM artifact_inputs ai
JOIN step_runs sr ON sr.id = ai.step_run_id
JOIN runs r ON r.id = sr.run_id
JOIN attempts at ON at.step_run_id = ai.step_run_id AND at.attempt = ai.attempt
WHERE ai.artifact_id = @id
ORDER BY ai.recorded_at, ai.step_run_id, ai.attempt;

-- Everything upstream of an artifact: the inputs of the attempt that produced it, their producers' inputs,
-- and so on. Each ancestor once, at its shortest distance; cycles (impossible by construction) are cut.
-- name: ArtifactUpstream
WITH RECURSIVE up (artifact_id, depth, consumer_step_run_id, consumer_attempt, input_name, path) AS (
    SELECT ai.artifact_id, 1, ai.step_run_id, ai.attempt, ai.input_name, ARRAY[m.id, ai.artifact_id]
    FROM artifacts m
    JOIN artifact_inputs ai ON ai.step_run_id = m.step_run_id AND ai.attempt = m.attempt
    WHERE m.id = @id
    UNION ALL
    SELECT ai.artifact_id, up.depth + 1, ai.step_run_id, ai.attempt, ai.input_name, up.path || ai.artifact_id
    FROM up
    JOIN artifacts p ON p.id = up.artifact_id
    JOIN artifact_inputs ai ON ai.step_run_id = p.step_run_id AND ai.attempt = p.attempt
    WHERE NOT ai.artifact_id = ANY (up.path) AND up.depth < 100
)
SELECT * FROM (
    SELECT DISTINCT ON (up.artifact_id)
           up.depth, up.consumer_step_run_id, up.consumer_attempt, up.input_name, d.*
    FROM up
    JOIN artifact_details d ON d.id = up.artifact_id
    ORDER BY up.artifact_id, up.depth
) ancestors
ORDER BY depth, uri;
