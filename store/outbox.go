package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The outbox: the queries and state moves of the sender (approved → sending
// → sent | approved again | failed | uncertain). Each move is conditional on
// the state it leaves, so a change made meanwhile (a reject from the command
// line) is never overwritten: it gives an error wrapping ErrStateChanged.

// Sent-folder copy states (messages.sent_copy).
const (
	CopyPending = ""        // not filed yet: the daemon retries
	CopyTrying  = "trying"  // an APPEND was begun: it may have landed (look before appending again)
	CopyFiled   = "filed"   // APPENDed to the Sent folder (sent_copy_note names it)
	CopySkipped = "skipped" // save_sent = never, or the provider files it itself
)

// Outbox lists the approved outgoing messages, oldest approval first.
func (tx *Tx) Outbox(ctx context.Context) ([]*Message, error) {
	return tx.outMessages(ctx, `state = 'approved' ORDER BY approved_at, id`)
}

// OutMessagesIn lists outgoing messages in one of states, in id order.
func (tx *Tx) OutMessagesIn(ctx context.Context, states ...string) ([]*Message, error) {
	if len(states) == 0 {
		return nil, nil
	}
	q := `state IN (?` + strings.Repeat(`, ?`, len(states)-1) + `) ORDER BY id`
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = s
	}
	return tx.outMessages(ctx, q, args...)
}

func (tx *Tx) outMessages(ctx context.Context, where string, args ...any) ([]*Message, error) {
	return queryRows(ctx, tx, "list outbox", scanMessage, `SELECT `+messageCols+` FROM messages WHERE direction = 'out' AND `+where, args...)
}

// SendCounts is what the sending limits need: how many messages left since a
// moment (a local midnight), and when the last ordinary one left.
type SendCounts struct {
	Since       int       // sent (or maybe sent) at or after the moment
	LastRegular time.Time // the last send of a message that is not an invite
}

// CountSends counts outgoing messages that left at or after since: sent ones
// by sent_at, and uncertain or sending ones (they may have left) by their
// last change. LastRegular ignores invites (purpose invite*).
func (tx *Tx) CountSends(ctx context.Context, since time.Time) (SendCounts, error) {
	var c SendCounts
	var last sql.NullString
	err := tx.queryRow(ctx, `SELECT
		COUNT(*) FILTER (WHERE COALESCE(sent_at, updated_at) >= ?1),
		MAX(CASE WHEN purpose NOT LIKE 'invite%' THEN COALESCE(sent_at, updated_at) END)
		FROM messages WHERE direction = 'out' AND state IN ('sent', 'uncertain', 'sending')`, FormatTime(since)).Scan(&c.Since, &last)
	if err != nil {
		return c, fmt.Errorf("count sends: %w", err)
	}
	c.LastRegular, err = parseTime(last)
	return c, err
}

// moveOut changes an outgoing message's state with extra assignments, only
// from one of the states in from.
func (tx *Tx) moveOut(ctx context.Context, id int64, to string, from []string, set string, args ...any) error {
	q := `UPDATE messages SET state = ?, updated_at = ?`
	all := []any{to, FormatTime(tx.now)}
	if set != "" {
		q += ", " + set
		all = append(all, args...)
	}
	q += ` WHERE id = ? AND direction = 'out' AND state IN (?` + strings.Repeat(`, ?`, len(from)-1) + `)`
	all = append(all, id)
	for _, f := range from {
		all = append(all, f)
	}
	res, err := tx.exec(ctx, q, all...)
	if err != nil {
		return fmt.Errorf("message %d to %s: %w", id, to, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var cur string
		if err := tx.queryRow(ctx, `SELECT state FROM messages WHERE id = ?`, id).Scan(&cur); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("message %d: %w", id, ErrNotFound)
			}
			return err
		}
		return fmt.Errorf("message %d is %s, not %s: %w", id, cur, strings.Join(from, " or "), ErrStateChanged)
	}
	return nil
}

// BeginSending moves an approved message to sending, storing the exact bytes
// about to be sent and counting the attempt.
func (tx *Tx) BeginSending(ctx context.Context, id int64, raw []byte) error {
	return tx.moveOut(ctx, id, MsgSending, []string{MsgApproved},
		`raw = ?, attempts = attempts + 1, next_attempt_at = NULL`, raw)
}

// MarkSent records a delivery (from sending, or from uncertain when the copy
// was found in Sent or the user says it went): the server's reply, sent_at.
func (tx *Tx) MarkSent(ctx context.Context, id int64, reply string) error {
	return tx.moveOut(ctx, id, MsgSent, []string{MsgSending, MsgUncertain},
		`smtp_reply = ?, sent_at = COALESCE(sent_at, ?), error = '', next_attempt_at = NULL`, reply, FormatTime(tx.now))
}

// RetryLater puts a message that was not delivered back to approved, to be
// tried again at next.
func (tx *Tx) RetryLater(ctx context.Context, id int64, next time.Time, errText string) error {
	return tx.moveOut(ctx, id, MsgApproved, []string{MsgSending}, `next_attempt_at = ?, error = ?`, nullTime(next), errText)
}

// MarkSendFailed records a message that will not be delivered.
func (tx *Tx) MarkSendFailed(ctx context.Context, id int64, errText string) error {
	return tx.moveOut(ctx, id, MsgFailed, []string{MsgSending, MsgApproved}, `error = ?, next_attempt_at = NULL`, errText)
}

// MarkUncertain records a message that may or may not have been delivered.
func (tx *Tx) MarkUncertain(ctx context.Context, id int64, errText string) error {
	return tx.moveOut(ctx, id, MsgUncertain, []string{MsgSending}, `error = ?`, errText)
}

// Requeue puts an uncertain or failed message back to approved, to be sent
// with the same Message-ID (and the same bytes, kept in raw). A failed one
// starts its attempts again.
func (tx *Tx) Requeue(ctx context.Context, id int64) error {
	return tx.moveOut(ctx, id, MsgApproved, []string{MsgUncertain, MsgFailed},
		`next_attempt_at = NULL, error = '', attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END, approved_at = ?`,
		FormatTime(tx.now))
}

// PendingSentCopies lists sent messages whose copy is not yet filed in the
// Sent folder (never tried, or an APPEND begun but not recorded as done),
// oldest first, at most limit.
func (tx *Tx) PendingSentCopies(ctx context.Context, limit int) ([]*Message, error) {
	return tx.outMessages(ctx, `state = 'sent' AND sent_copy IN ('', 'trying') AND raw IS NOT NULL ORDER BY sent_at, id LIMIT ?`, limit)
}

// SetSentCopy records what became of a sent message's Sent-folder copy.
func (tx *Tx) SetSentCopy(ctx context.Context, id int64, state, note string) error {
	if state != CopyFiled && state != CopySkipped && state != CopyPending && state != CopyTrying {
		return fmt.Errorf("message %d: unknown sent copy state %q", id, state)
	}
	_, err := tx.exec(ctx, `UPDATE messages SET sent_copy = ?, sent_copy_note = ?, updated_at = ? WHERE id = ?`,
		state, note, FormatTime(tx.now), id)
	if err != nil {
		return fmt.Errorf("message %d sent copy: %w", id, err)
	}
	return nil
}

// SentCopy reads a message's Sent-folder copy state and note.
func (tx *Tx) SentCopy(ctx context.Context, id int64) (state, note string, err error) {
	err = tx.queryRow(ctx, `SELECT sent_copy, sent_copy_note FROM messages WHERE id = ?`, id).Scan(&state, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	return state, note, err
}

// OpenReviewFor returns the open review item of kind about message msgID,
// or nil when there is none.
func (tx *Tx) OpenReviewFor(ctx context.Context, msgID int64, kind string) (*ReviewItem, error) {
	r, err := scanReview(tx.queryRow(ctx, `SELECT `+reviewCols+` FROM review_items
		WHERE message_id = ? AND kind = ? AND state = 'open' ORDER BY id LIMIT 1`, msgID, kind))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}
