-- Values created once per key: named statements used by ActivityState/PostgresOnceRegistry.cs.

-- name: OnceGet
SELECT value FROM activity_once WHERE key = @key;

-- name: OnceLock
-- Transaction-scoped: released by commit, rollback, or the connection dying with its process. The two-int form
-- keeps these keys apart from the single-bigint advisory locks of migrations and leader election.
SELECT pg_advisory_xact_lock(1330529093, hashtext(@key));

-- name: OnceInsert
INSERT INTO activity_once (key, value, created_at) VALUES (@key, @value, @created_at);
