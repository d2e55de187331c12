package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Checkpoint is how far the inbox watcher has read one mailbox. ScanTo is
// nonzero while a first run or a rescan is under way: the last UID it
// covers.
type Checkpoint struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32
	ScanTo      uint32
	UpdatedAt   time.Time
}

// Checkpoint returns the checkpoint of mailbox; a mailbox never read gives
// the zero Checkpoint (UIDValidity 0) and no error.
func (tx *Tx) Checkpoint(ctx context.Context, mailbox string) (Checkpoint, error) {
	cp := Checkpoint{Mailbox: mailbox}
	var at sql.NullString
	err := tx.queryRow(ctx, `SELECT uidvalidity, last_uid, scan_to, updated_at FROM checkpoints WHERE mailbox = ?`, mailbox).
		Scan(&cp.UIDValidity, &cp.LastUID, &cp.ScanTo, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{Mailbox: mailbox}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("checkpoint of %s: %w", mailbox, err)
	}
	cp.UpdatedAt, err = parseTime(at)
	return cp, err
}

// SetCheckpoint records how far mailbox has been read, and how far the scan
// under way goes (0: none).
func (tx *Tx) SetCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID, scanTo uint32) error {
	_, err := tx.exec(ctx, `INSERT INTO checkpoints (mailbox, uidvalidity, last_uid, scan_to, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
		scan_to = excluded.scan_to, updated_at = excluded.updated_at`, mailbox, uidValidity, lastUID, scanTo, FormatTime(tx.now))
	if err != nil {
		return fmt.Errorf("set checkpoint of %s: %w", mailbox, err)
	}
	return nil
}

// HasMessageID reports whether any message (either direction) with this
// Message-ID is stored: the inbox's dedupe.
func (tx *Tx) HasMessageID(ctx context.Context, msgID string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM messages WHERE message_id = ?`, strings.Trim(msgID, "<> ")).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up message <%s>: %w", msgID, err)
	}
	return n > 0, nil
}

// StoredMessageIDs returns which of ids (Message-IDs, with or without angle
// brackets) any stored message, of either direction, carries: HasMessageID
// for a whole batch, one query per 500 ids. Keys are without brackets.
func (tx *Tx) StoredMessageIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	set := map[string]bool{}
	keys := make([]any, 0, len(ids))
	for _, id := range ids {
		if t := strings.Trim(id, "<> "); !set[t] {
			set[t] = true
			keys = append(keys, t)
		}
	}
	for len(keys) > 0 {
		part := keys[:min(len(keys), 500)]
		keys = keys[len(part):]
		rows, err := tx.query(ctx, `SELECT DISTINCT message_id FROM messages WHERE message_id IN (?`+
			strings.Repeat(", ?", len(part)-1)+`)`, part...)
		if err != nil {
			return nil, fmt.Errorf("look up %d message ids: %w", len(part), err)
		}
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return nil, err
			}
			out[t] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OutgoingByMessageID returns the outgoing message with this Message-ID, or
// ErrNotFound.
func (tx *Tx) OutgoingByMessageID(ctx context.Context, msgID string) (*Message, error) {
	msgID = strings.Trim(msgID, "<> ")
	m, err := scanMessage(tx.queryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE message_id = ? AND direction = 'out'`, msgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("outgoing message <%s>: %w", msgID, ErrNotFound)
	}
	return m, err
}

// OutgoingMessageIDs returns the Message-IDs of every outgoing message that
// has left or may have left (not drafts, approved or rejected ones): what a
// reply can refer to.
func (tx *Tx) OutgoingMessageIDs(ctx context.Context) (map[string]bool, error) {
	return querySet[string](ctx, tx, "outgoing message ids", `SELECT message_id FROM messages WHERE direction = 'out'
		AND message_id IS NOT NULL AND state IN ('sending', 'sent', 'uncertain', 'failed', 'stale')`)
}

// CounterpartAddresses returns every address of the connectors and targets
// of open asks, lower-case: the people whose mail may be a reply.
func (tx *Tx) CounterpartAddresses(ctx context.Context) (map[string]bool, error) {
	return querySet[string](ctx, tx, "counterpart addresses", `SELECT DISTINCT e.email FROM contact_emails e JOIN asks a
		ON e.contact_id = a.connector_id OR e.contact_id = a.target_id
		WHERE a.state IN `+openStatesSQL)
}

// ConnectorAddresses returns every address of the connectors of open intro
// asks, lower-case: the people whose mail may be an introduction.
func (tx *Tx) ConnectorAddresses(ctx context.Context) (map[string]bool, error) {
	return querySet[string](ctx, tx, "connector addresses", `SELECT DISTINCT e.email FROM contact_emails e JOIN asks a
		ON e.contact_id = a.connector_id WHERE a.kind = 'intro' AND a.state IN `+openStatesSQL)
}

// AsksOfAddress returns the asks (any state) whose connector or target owns
// address, oldest first.
func (tx *Tx) AsksOfAddress(ctx context.Context, address string) ([]*Ask, error) {
	id, err := tx.contactIDByEmail(ctx, address)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return queryRows(ctx, tx, "asks of "+address, scanAsk,
		`SELECT `+askCols+` FROM asks WHERE connector_id = ?1 OR target_id = ?1 ORDER BY id`, id)
}

// OldestOpenSend returns the first send of the oldest open ask that has sent
// anything (zero when no open ask has).
func (tx *Tx) OldestOpenSend(ctx context.Context) (time.Time, error) {
	var at sql.NullString
	err := tx.queryRow(ctx, `SELECT MIN(m.sent_at) FROM messages m JOIN asks a ON a.id = m.ask_id
		WHERE m.direction = 'out' AND m.sent_at IS NOT NULL AND a.state IN `+openStatesSQL).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("oldest open send: %w", err)
	}
	return parseTime(at)
}

// InboxSyncedKey is the daemon_state key holding when the inbox watcher last
// caught up (RFC 3339 UTC), for `status`.
const InboxSyncedKey = "inbox_synced_at"

// SetInboxSyncedAt records when the inbox watcher last caught up.
func (tx *Tx) SetInboxSyncedAt(ctx context.Context, at time.Time) error {
	return tx.SetDaemonState(ctx, InboxSyncedKey, FormatTime(at))
}

// InboxSyncedAt returns when the inbox watcher last caught up (zero: never).
func (tx *Tx) InboxSyncedAt(ctx context.Context) (time.Time, error) {
	v, _, err := tx.DaemonState(ctx, InboxSyncedKey)
	if err != nil {
		return time.Time{}, err
	}
	return parseTime(sql.NullString{String: v, Valid: true})
}

// Savepoint runs fn inside a SAVEPOINT of tx: when fn fails, what it wrote
// is undone and the rest of the transaction stays. name must be an SQL
// identifier.
func (tx *Tx) Savepoint(ctx context.Context, name string, fn func() error) error {
	if _, err := tx.exec(ctx, `SAVEPOINT `+name); err != nil {
		return fmt.Errorf("savepoint %s: %w", name, err)
	}
	if err := fn(); err != nil {
		if _, rerr := tx.exec(ctx, `ROLLBACK TO `+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back to %s: %w", name, rerr))
		}
		tx.exec(ctx, `RELEASE `+name)
		return err
	}
	if _, err := tx.exec(ctx, `RELEASE `+name); err != nil {
		return fmt.Errorf("release %s: %w", name, err)
	}
	return nil
}

// ApplyAttempt is how often applying one incoming message was tried without
// finishing, and the error of the last try that failed (empty when the tries
// never came back, as when the daemon died).
type ApplyAttempt struct {
	Attempts  int
	LastError string
}

// ApplyAttempts returns the unfinished tries of the messages uids of mailbox
// under uidValidity; a message never tried has no entry. One query per 500
// UIDs.
func (tx *Tx) ApplyAttempts(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32) (map[uint32]ApplyAttempt, error) {
	out := map[uint32]ApplyAttempt{}
	for len(uids) > 0 {
		part := uids[:min(len(uids), 500)]
		uids = uids[len(part):]
		args := make([]any, 0, len(part)+2)
		args = append(args, mailbox, uidValidity)
		for _, u := range part {
			args = append(args, u)
		}
		rows, err := tx.query(ctx, `SELECT uid, attempts, last_error FROM inbox_attempts WHERE mailbox = ? AND uidvalidity = ?
			AND uid IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("apply attempts of %s: %w", mailbox, err)
		}
		for rows.Next() {
			var uid uint32
			var a ApplyAttempt
			if err := rows.Scan(&uid, &a.Attempts, &a.LastError); err != nil {
				rows.Close()
				return nil, fmt.Errorf("apply attempts of %s: %w", mailbox, err)
			}
			out[uid] = a
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("apply attempts of %s: %w", mailbox, err)
		}
	}
	return out, nil
}

// CountApplyAttempts records one more try to apply each of uids, one
// statement per 300 UIDs: call it in a transaction of its own, committed
// before the try.
func (tx *Tx) CountApplyAttempts(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32) error {
	now := FormatTime(tx.now)
	for len(uids) > 0 {
		part := uids[:min(len(uids), 300)]
		uids = uids[len(part):]
		args := make([]any, 0, 4*len(part))
		for _, u := range part {
			args = append(args, mailbox, uidValidity, u, now)
		}
		_, err := tx.exec(ctx, `INSERT INTO inbox_attempts (mailbox, uidvalidity, uid, attempts, updated_at) VALUES (?, ?, ?, 1, ?)`+
			strings.Repeat(", (?, ?, ?, 1, ?)", len(part)-1)+`
			ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET attempts = attempts + 1, updated_at = excluded.updated_at`, args...)
		if err != nil {
			if len(part) == 1 {
				return fmt.Errorf("count apply attempt of %s UID %d: %w", mailbox, part[0], err)
			}
			return fmt.Errorf("count apply attempts of %s (%d UIDs): %w", mailbox, len(part), err)
		}
	}
	return nil
}

// SetApplyError keeps why the last try to apply a message failed.
func (tx *Tx) SetApplyError(ctx context.Context, mailbox string, uidValidity, uid uint32, msg string) error {
	_, err := tx.exec(ctx, `UPDATE inbox_attempts SET last_error = ?, updated_at = ? WHERE mailbox = ? AND uidvalidity = ? AND uid = ?`,
		msg, FormatTime(tx.now), mailbox, uidValidity, uid)
	if err != nil {
		return fmt.Errorf("record apply error of %s UID %d: %w", mailbox, uid, err)
	}
	return nil
}

// ClearApplyAttempts forgets the tries of mailbox's messages up to lastUID
// under uidValidity, and of every message under another UIDVALIDITY: the
// checkpoint has passed them.
func (tx *Tx) ClearApplyAttempts(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error {
	_, err := tx.exec(ctx, `DELETE FROM inbox_attempts WHERE mailbox = ? AND (uidvalidity <> ? OR uid <= ?)`,
		mailbox, uidValidity, lastUID)
	if err != nil {
		return fmt.Errorf("clear apply attempts of %s: %w", mailbox, err)
	}
	return nil
}

// UncountApplyAttempts takes back one try of each message uids: the tries
// were stopped on purpose (the daemon shutting down), not by the messages.
func (tx *Tx) UncountApplyAttempts(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32) error {
	for _, uid := range uids {
		if _, err := tx.exec(ctx, `UPDATE inbox_attempts SET attempts = attempts - 1 WHERE mailbox = ? AND uidvalidity = ? AND uid = ?`,
			mailbox, uidValidity, uid); err != nil {
			return fmt.Errorf("uncount apply attempt of %s UID %d: %w", mailbox, uid, err)
		}
	}
	if _, err := tx.exec(ctx, `DELETE FROM inbox_attempts WHERE mailbox = ? AND uidvalidity = ? AND attempts <= 0`, mailbox, uidValidity); err != nil {
		return fmt.Errorf("uncount apply attempts of %s: %w", mailbox, err)
	}
	return nil
}
