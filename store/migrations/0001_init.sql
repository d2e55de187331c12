-- coffeechat schema, version 1.
-- Times are TEXT in RFC 3339, UTC, with a fractional second where known.
-- Message-IDs are stored without angle brackets.

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL CHECK (name <> ''),
    org         TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '',            -- ",a,b," lower-case, for LIKE '%,tag,%'
    source      TEXT NOT NULL DEFAULT 'manual',      -- manual | linkedin | google | vcard | introduction
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX contacts_name ON contacts(name COLLATE NOCASE);

-- Every address a contact has; an address belongs to one contact.
CREATE TABLE contact_emails (
    email       TEXT PRIMARY KEY CHECK (email = lower(email) AND email LIKE '%_@_%'),
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0           -- 0 is the primary address
);
CREATE INDEX contact_emails_contact ON contact_emails(contact_id, position);

-- Who knows whom: from_id knows to_id.
CREATE TABLE connections (
    from_id     INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    to_id       INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    note        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT 'manual',      -- manual | introduction | import
    created_at  TEXT NOT NULL,
    PRIMARY KEY (from_id, to_id),
    CHECK (from_id <> to_id)
);
CREATE INDEX connections_to ON connections(to_id);

-- An ask: an intro request to a connector, or an interview request to a person.
-- state: draft | waiting | replied | introduced | agreed | scheduled | done
--        | declined | bounced | no_answer | closed
CREATE TABLE asks (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('intro', 'interview')),
    connector_id  INTEGER REFERENCES contacts(id),
    target_id     INTEGER REFERENCES contacts(id),
    looking_for   TEXT NOT NULL DEFAULT '',
    topic         TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,                     -- checked in Go (store.AskStates)
    parent_id     INTEGER REFERENCES asks(id),
    slots         TEXT NOT NULL DEFAULT '[]',        -- JSON [{"start":..,"end":..}] in proposal order
    agreed_start  TEXT,                              -- a time agreed before the invite went out
    wait_until    TEXT,                              -- out of office: no follow-up before this
    followups     INTEGER NOT NULL DEFAULT 0,        -- follow-ups sent
    last_sent_at  TEXT,                              -- last outgoing message of this ask
    last_reply_at TEXT,                              -- last human reply
    note          TEXT NOT NULL DEFAULT '',          -- the latest reason (a bounce diagnostic, ...)
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((kind = 'intro' AND connector_id IS NOT NULL AND (target_id IS NOT NULL OR looking_for <> ''))
        OR (kind = 'interview' AND target_id IS NOT NULL))
);
CREATE INDEX asks_state ON asks(state);
CREATE INDEX asks_parent ON asks(parent_id);
CREATE INDEX asks_target ON asks(target_id);
CREATE INDEX asks_connector ON asks(connector_id);

-- Every email of an ask, both ways.
-- out purposes: intro_request | interview_request | followup | thanks | close_loop
--               | invite | invite_update | invite_cancel
-- out states:   draft | approved | sending | sent | failed | uncertain | rejected | stale
-- in purposes:  reply | introduction | auto_reply | bounce | calendar_reply
-- in state:     received
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    ask_id          INTEGER REFERENCES asks(id),
    direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    purpose         TEXT NOT NULL,
    state           TEXT NOT NULL,
    message_id      TEXT UNIQUE,                      -- chosen and stored before sending
    in_reply_to     TEXT NOT NULL DEFAULT '',
    refs            TEXT NOT NULL DEFAULT '',         -- space-separated
    from_addr       TEXT NOT NULL DEFAULT '',         -- RFC 5322 address
    to_addrs        TEXT NOT NULL DEFAULT '',         -- RFC 5322 address lists
    cc_addrs        TEXT NOT NULL DEFAULT '',
    bcc_addrs       TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',         -- out: the text; in: the new text of the reply
    calendar        BLOB,                             -- text/calendar part of an invite
    calendar_method TEXT NOT NULL DEFAULT '',
    raw             BLOB,                             -- the exact bytes sent or received
    auto            INTEGER NOT NULL DEFAULT 0,       -- approved by coffeechat itself
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    error           TEXT NOT NULL DEFAULT '',
    smtp_reply      TEXT NOT NULL DEFAULT '',
    reading         TEXT NOT NULL DEFAULT '',         -- in: JSON of how the inbox read it
    mailbox         TEXT NOT NULL DEFAULT '',         -- in: where it was seen
    uidvalidity     INTEGER NOT NULL DEFAULT 0,
    uid             INTEGER NOT NULL DEFAULT 0,
    msg_date        TEXT,                             -- the Date header
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    approved_at     TEXT,
    sent_at         TEXT
);
CREATE INDEX messages_ask ON messages(ask_id, id);
CREATE INDEX messages_state ON messages(direction, state);

-- Things only the user can decide.
-- kind: reply | uncertain_send | failed_send | pick_time | counter | bad_calendar | stale | set_aside
CREATE TABLE review_items (
    id          INTEGER PRIMARY KEY,
    ask_id      INTEGER REFERENCES asks(id),
    message_id  INTEGER REFERENCES messages(id),
    kind        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',            -- JSON: the guess, the reply, the error
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'dismissed')),
    resolution  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX review_items_open ON review_items(state, id);

-- A meeting on the calendar. status: invited | accepted | tentative | declined | cancelled
CREATE TABLE interviews (
    id          INTEGER PRIMARY KEY,
    ask_id      INTEGER NOT NULL REFERENCES asks(id),
    uid         TEXT NOT NULL UNIQUE,
    sequence    INTEGER NOT NULL DEFAULT 0,
    start_at    TEXT NOT NULL,
    end_at      TEXT NOT NULL,
    status      TEXT NOT NULL,
    organizer   TEXT NOT NULL DEFAULT 'us' CHECK (organizer IN ('us', 'them')),
    location    TEXT NOT NULL DEFAULT '',
    synced_seq  INTEGER NOT NULL DEFAULT -1,         -- the sequence written to ics_dir/CalDAV
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX interviews_ask ON interviews(ask_id);
CREATE INDEX interviews_start ON interviews(start_at);

-- Where the inbox watcher is in each mailbox.
CREATE TABLE checkpoints (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Everything that happened to an ask, written in the same transaction as the change.
CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY,
    ask_id      INTEGER NOT NULL REFERENCES asks(id),
    at          TEXT NOT NULL,
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    message_id  INTEGER REFERENCES messages(id)
);
CREATE INDEX timeline_ask ON timeline(ask_id, id);

-- Scheduled steps already taken, so a restart never drafts the same step twice.
CREATE TABLE steps (
    ask_id      INTEGER NOT NULL REFERENCES asks(id),
    step        TEXT NOT NULL,                       -- followup-1 | thanks | close_loop | no_answer
    created_at  TEXT NOT NULL,
    PRIMARY KEY (ask_id, step)
);

-- What the daemon wants `status` to show: key/value, and its recent errors.
CREATE TABLE daemon_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE daemon_errors (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    text        TEXT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    first_at    TEXT NOT NULL,
    last_at     TEXT NOT NULL
);
