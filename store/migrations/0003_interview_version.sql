-- A change counter on each interview, so that the calendar sync never takes
-- one change for another: every write of the row bumps version; the sync
-- records the version it wrote in synced_version. Unsynced = version >
-- synced_version. (Comparing updated_at missed a second change made within
-- the same clock reading, or after the clock went back.)
ALTER TABLE interviews ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE interviews ADD COLUMN synced_version INTEGER NOT NULL DEFAULT 0;
UPDATE interviews SET synced_version = version WHERE synced_seq = sequence;
CREATE INDEX interviews_unsynced ON interviews(id) WHERE version > synced_version;
