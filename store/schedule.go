package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Scheduled steps of an ask (the steps table): each is taken at most once,
// so a restart or a second pass never drafts the same step twice.
const (
	StepThanks    = "thanks"
	StepCloseLoop = "close_loop"
	StepNoAnswer  = "no_answer"
)

// StepFollowup is the step of the n-th follow-up (1-based): "followup-1".
func StepFollowup(n int) string { return fmt.Sprintf("followup-%d", n) }

// TakeStep records that step of ask is being taken now. It reports false,
// changing nothing, when the step was already taken: the caller then does
// nothing either. Call it in the transaction that takes the step.
func (tx *Tx) TakeStep(ctx context.Context, askID int64, step string) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO steps (ask_id, step, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		askID, step, FormatTime(tx.now))
	if err != nil {
		return false, fmt.Errorf("take step %s of ask %d: %w", step, askID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Steps lists the steps taken for an ask, oldest first.
func (tx *Tx) Steps(ctx context.Context, askID int64) ([]string, error) {
	return queryRows(ctx, tx, fmt.Sprintf("steps of ask %d", askID), scanOne[string],
		`SELECT step FROM steps WHERE ask_id = ? ORDER BY created_at, rowid`, askID)
}

// ScheduleCandidates lists the ids of the asks the scheduler has to look at:
// waiting asks whose last send was at or before sentBy (a follow-up or no
// answer may be due: never earlier than followup.after after the last send),
// and scheduled or agreed asks with an interview that ended at or before
// endedBy (thank-yous). The rest need no look.
func (tx *Tx) ScheduleCandidates(ctx context.Context, sentBy, endedBy time.Time) ([]int64, error) {
	return queryRows(ctx, tx, "schedule candidates", scanOne[int64], `SELECT id FROM asks WHERE state = 'waiting' AND last_sent_at <= ?
		UNION
		SELECT a.id FROM asks a JOIN interviews i ON i.ask_id = a.id
		WHERE a.state IN ('scheduled', 'agreed') AND i.status NOT IN ('declined', 'cancelled') AND i.end_at <= ?
		ORDER BY 1`, FormatTime(sentBy), FormatTime(endedBy))
}

// AsksWithOutgoing returns the ids of the asks that have an outgoing message
// of purpose in one of states.
func (tx *Tx) AsksWithOutgoing(ctx context.Context, purpose string, states []string) (map[int64]bool, error) {
	if len(states) == 0 {
		return map[int64]bool{}, nil
	}
	args := []any{purpose}
	for _, s := range states {
		args = append(args, s)
	}
	return querySet[int64](ctx, tx, "asks with outgoing "+purpose, `SELECT DISTINCT ask_id FROM messages
		WHERE direction = 'out' AND ask_id IS NOT NULL AND purpose = ? AND state IN (?`+strings.Repeat(", ?", len(states)-1)+`)`, args...)
}

// UnsentWithAsk lists outgoing drafts and approved messages that belong to
// an ask, with the ask's state: what may have gone stale. Calendar messages
// are left out (their own code keeps them current).
func (tx *Tx) UnsentWithAsk(ctx context.Context) ([]*Message, error) {
	return tx.outMessages(ctx, `state IN ('draft', 'approved') AND ask_id IS NOT NULL
		AND purpose NOT LIKE 'invite%' ORDER BY id`)
}

// HumanReplySince reports whether a human answer (a reply or an
// introduction) to ask was stored after since.
func (tx *Tx) HumanReplySince(ctx context.Context, askID int64, since time.Time) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM messages WHERE ask_id = ? AND direction = 'in'
		AND purpose IN ('reply', 'introduction') AND created_at > ?`, askID, FormatTime(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("replies to ask %d: %w", askID, err)
	}
	return n > 0, nil
}

// Daemon state keys (daemon_state), shown by `status`.
const (
	StartedKey = "started_at" // when the running daemon started (RFC 3339 UTC)
	PIDKey     = "pid"        // its process id
	ReadyKey   = "ready_in"   // how long it took to be ready (a Go duration)
)

// SetDaemonState writes one daemon_state value.
func (tx *Tx) SetDaemonState(ctx context.Context, key, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, FormatTime(tx.now))
	if err != nil {
		return fmt.Errorf("daemon state %s: %w", key, err)
	}
	return nil
}

// DaemonState reads one daemon_state value ("" when unset) and when it was written.
func (tx *Tx) DaemonState(ctx context.Context, key string) (string, time.Time, error) {
	var v string
	var at sql.NullString
	err := tx.queryRow(ctx, `SELECT value, updated_at FROM daemon_state WHERE key = ?`, key).Scan(&v, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("daemon state %s: %w", key, err)
	}
	t, err := parseTime(at)
	return v, t, err
}

// DaemonError is one folded error of the daemon: the same text from the
// same source, Count times between First and Last.
type DaemonError struct {
	ID     int64     `json:"id"`
	Source string    `json:"source"`
	Text   string    `json:"text"`
	Count  int       `json:"count"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

// NoteDaemonErrorN adds n occurrences of (source, text) seen last at last:
// the same source and text again only bump the count and the time.
func (tx *Tx) NoteDaemonErrorN(ctx context.Context, source, text string, n int, first, last time.Time) error {
	if n <= 0 {
		return nil
	}
	res, err := tx.exec(ctx, `UPDATE daemon_errors SET count = count + ?, last_at = MAX(last_at, ?) WHERE source = ? AND text = ?`,
		n, FormatTime(last), source, text)
	if err != nil {
		return fmt.Errorf("note daemon error: %w", err)
	}
	if k, _ := res.RowsAffected(); k > 0 {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO daemon_errors (source, text, count, first_at, last_at) VALUES (?, ?, ?, ?, ?)`,
		source, text, n, FormatTime(first), FormatTime(last)); err != nil {
		return fmt.Errorf("note daemon error: %w", err)
	}
	return nil
}

// DaemonErrors lists the most recently seen daemon errors, newest first, at
// most limit (0: all).
func (tx *Tx) DaemonErrors(ctx context.Context, limit int) ([]DaemonError, error) {
	q := `SELECT id, source, text, count, first_at, last_at FROM daemon_errors ORDER BY last_at DESC, id DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryRows(ctx, tx, "daemon errors", func(s scanner) (DaemonError, error) {
		var e DaemonError
		var first, last sql.NullString
		err := s.Scan(&e.ID, &e.Source, &e.Text, &e.Count, &first, &last)
		if err == nil {
			e.First, err = parseTime(first)
		}
		if err == nil {
			e.Last, err = parseTime(last)
		}
		return e, err
	}, q, args...)
}

// PruneDaemonErrors keeps the keep most recently seen errors and drops the rest.
func (tx *Tx) PruneDaemonErrors(ctx context.Context, keep int) error {
	_, err := tx.exec(ctx, `DELETE FROM daemon_errors WHERE id NOT IN
		(SELECT id FROM daemon_errors ORDER BY last_at DESC, id DESC LIMIT ?)`, keep)
	if err != nil {
		return fmt.Errorf("prune daemon errors: %w", err)
	}
	return nil
}

// Counts is what `status` shows of the queue.
type Counts struct {
	Drafts   int // outgoing drafts waiting for approval
	Approved int // approved, not sent yet
	Review   int // open review items
}

// QueueCounts counts drafts, approved messages and open review items.
func (tx *Tx) QueueCounts(ctx context.Context) (Counts, error) {
	var c Counts
	err := tx.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM messages WHERE direction = 'out' AND state = 'draft'),
		(SELECT COUNT(*) FROM messages WHERE direction = 'out' AND state = 'approved'),
		(SELECT COUNT(*) FROM review_items WHERE state = 'open')`).Scan(&c.Drafts, &c.Approved, &c.Review)
	if err != nil {
		return c, fmt.Errorf("queue counts: %w", err)
	}
	return c, nil
}

// IntegrityCheck runs SQLite's quick_check and returns its findings (nil:
// the database is sound).
func (db *DB) IntegrityCheck(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return nil, db.explain("check", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if s != "ok" {
			out = append(out, s)
		}
	}
	return out, rows.Err()
}

// AppliedSchemaVersion is the newest migration recorded in the database.
func (db *DB) AppliedSchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, db.explain("read schema version of", err)
	}
	return v, nil
}
