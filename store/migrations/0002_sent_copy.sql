-- The copy of a sent message filed in the user's Sent folder (issue 3).
-- sent_copy: '' not yet filed (retried by the daemon) | 'filed' | 'skipped' (save_sent = never,
-- or the provider files sent mail itself); sent_copy_note: the folder, or why it was skipped.
ALTER TABLE messages ADD COLUMN sent_copy TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sent_copy_note TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_sent_copy ON messages(state, sent_copy) WHERE direction = 'out';
