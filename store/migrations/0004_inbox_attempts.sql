-- Tries to apply an incoming message (issue 4), counted before each try in
-- a transaction of its own, so that a message that crashes the daemon every
-- time is still set aside after a few tries across restarts. A row lives
-- only while the message is being applied or keeps failing; it is removed
-- once the checkpoint passes the message.
CREATE TABLE inbox_attempts (
    mailbox     TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
