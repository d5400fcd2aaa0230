-- Issue 11, item 8: a run records the tracking server it uses when it is submitted ('built-in' for the store on this
-- database, else an http(s) address without credentials), so every step uses it whichever worker claims it. Null
-- for runs from before: each worker then tracks where it is configured to, as it did.
ALTER TABLE runs ADD COLUMN tracking_server text;
