-- When an event's change committed (from PostgreSQL's commit timestamps, where track_commit_timestamp is on, as in
-- the private local clusters) and when the server gave it its position (just before that transaction committed).
-- With created_at they split a live event's delay into the change committing, the server waking and positioning it,
-- and the hand-off to clients; the server benchmark reports each (issue 15: a client sees a change within 100 ms of
-- its commit).
ALTER TABLE events ADD COLUMN committed_at timestamptz NULL, ADD COLUMN positioned_at timestamptz NULL;
