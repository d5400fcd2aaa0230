-- Fan-out items no longer count down a counter on their parent's row (issue 19): every item's completion updated
-- that one row, so the items of a fan-out finished one at a time however many workers ran them. The parent is now
-- closed by whoever finds, after committing, that none of its items is still open; this index makes that check
-- cheap however many items have finished. Progress views count open items the same way.
ALTER TABLE step_runs DROP COLUMN children_open;
CREATE INDEX step_runs_open_children ON step_runs (parent_id)
    WHERE parent_id IS NOT NULL AND state IN ('pending', 'available', 'running', 'retrying');
