-- MLflow parent runs of ended pipeline runs, to be closed: named statements used by ActivityState/PostgresParentRuns.cs.
-- A parent run is recorded in activity_once under 'mlflow.parent_run/<server>/<pipeline run id>/<experiment>'
-- (ModelTracking.ParentRunAsync); closing it records 'closed:' || that key, so each is closed once.

-- name: ParentRunsEnded
SELECT o.key, o.value, r.state, r.error, r.finalized_at, r.created_by
FROM activity_once o
-- Compared as text: a malformed key then matches nothing instead of failing the cast.
JOIN runs r ON r.id::text = substring(o.key FROM length(@prefix) + 1 FOR 36)
WHERE o.key LIKE @prefix_like ESCAPE '\'
  AND substring(o.key FROM length(@prefix) + 37 FOR 1) = '/'
  AND r.state IN ('succeeded', 'failed', 'cancelled', 'stopped')
  AND NOT EXISTS (SELECT 1 FROM activity_once c WHERE c.key = 'closed:' || o.key)
ORDER BY r.finalized_at, o.key
LIMIT @limit;

-- name: ParentRunServersEnded
-- The tracking servers that hold parent runs to close: the <server> part of such keys (up to the pipeline run id,
-- the first UUID segment: a server is 'built-in' or an address, which has none).
SELECT DISTINCT substring(o.key FROM '^mlflow\.parent_run/(.+?)/[0-9a-f-]{36}/') AS server
FROM activity_once o
JOIN runs r ON r.id::text = substring(o.key FROM '^mlflow\.parent_run/.+?/([0-9a-f-]{36})/')
WHERE o.key LIKE 'mlflow.parent\_run/%' ESCAPE '\'
  AND r.state IN ('succeeded', 'failed', 'cancelled', 'stopped')
  AND NOT EXISTS (SELECT 1 FROM activity_once c WHERE c.key = 'closed:' || o.key);

-- name: ParentRunClosed
INSERT INTO activity_once (key, value, created_at) VALUES ('closed:' || @key, @status, @closed_at)
ON CONFLICT (key) DO NOTHING;
