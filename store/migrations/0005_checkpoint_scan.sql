-- While a first run or a rescan after a new UIDVALIDITY is under way, the
-- last UID it covers (issue 4): a restart in the middle resumes it with its
-- date filter up to there. 0 once it is done.
ALTER TABLE checkpoints ADD COLUMN scan_to INTEGER NOT NULL DEFAULT 0;
