package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Interview statuses.
const (
	InterviewInvited   = "invited"
	InterviewAccepted  = "accepted"
	InterviewTentative = "tentative"
	InterviewDeclined  = "declined"
	InterviewCancelled = "cancelled"
)

// Interview organizers.
const (
	OrganizerUs   = "us"
	OrganizerThem = "them"
)

// InterviewStatuses lists every interview status.
var InterviewStatuses = map[string]bool{
	InterviewInvited: true, InterviewAccepted: true, InterviewTentative: true,
	InterviewDeclined: true, InterviewCancelled: true,
}

const interviewCols = `id, ask_id, uid, sequence, start_at, end_at, status, organizer, location, synced_seq, version, synced_version, created_at, updated_at`

func scanInterview(s scanner) (*Interview, error) {
	var iv Interview
	var start, end, created, updated sql.NullString
	if err := s.Scan(&iv.ID, &iv.AskID, &iv.UID, &iv.Sequence, &start, &end, &iv.Status, &iv.Organizer,
		&iv.Location, &iv.SyncedSeq, &iv.Version, &iv.SyncedVersion, &created, &updated); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&iv.Start, start}, {&iv.End, end}, {&iv.CreatedAt, created}, {&iv.UpdatedAt, updated}} {
		t, err := parseTime(p.src)
		if err != nil {
			return nil, fmt.Errorf("interview %d: %w", iv.ID, err)
		}
		*p.dst = t
	}
	return &iv, nil
}

// InsertInterview adds iv and sets its ID. A UID already stored gives an
// error wrapping ErrExists. The new row is not synced yet (version 1,
// synced_version 0, synced_seq -1).
func (tx *Tx) InsertInterview(ctx context.Context, iv *Interview) error {
	if !InterviewStatuses[iv.Status] {
		return fmt.Errorf("insert interview: unknown status %q", iv.Status)
	}
	if iv.Organizer == "" {
		iv.Organizer = OrganizerUs
	}
	iv.CreatedAt, iv.UpdatedAt, iv.SyncedSeq, iv.Version, iv.SyncedVersion = tx.now, tx.now, -1, 1, 0
	res, err := tx.exec(ctx, `INSERT INTO interviews (ask_id, uid, sequence, start_at, end_at, status, organizer,
		location, synced_seq, version, synced_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, -1, 1, 0, ?, ?)`,
		iv.AskID, iv.UID, iv.Sequence, FormatTime(iv.Start), FormatTime(iv.End), iv.Status, iv.Organizer,
		iv.Location, FormatTime(tx.now), FormatTime(tx.now))
	if isUnique(err) {
		return fmt.Errorf("interview %s: %w", iv.UID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("insert interview: %w", err)
	}
	iv.ID, err = res.LastInsertId()
	return err
}

// SaveInterview writes iv's sequence, times, status, organizer and location,
// bumps its version and so marks it for the calendar sync again (also
// synced_seq -1). iv.Version is set to the new version.
func (tx *Tx) SaveInterview(ctx context.Context, iv *Interview) error {
	if !InterviewStatuses[iv.Status] {
		return fmt.Errorf("interview %d: unknown status %q", iv.ID, iv.Status)
	}
	var version int64
	err := tx.queryRow(ctx, `UPDATE interviews SET sequence = ?, start_at = ?, end_at = ?, status = ?, organizer = ?,
		location = ?, synced_seq = -1, version = version + 1, updated_at = ? WHERE id = ? RETURNING version`,
		iv.Sequence, FormatTime(iv.Start), FormatTime(iv.End), iv.Status, iv.Organizer, iv.Location,
		FormatTime(tx.now), iv.ID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("interview %d: %w", iv.ID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("save interview %d: %w", iv.ID, err)
	}
	iv.UpdatedAt, iv.SyncedSeq, iv.Version = tx.now, -1, version
	return nil
}

// Interview returns one interview.
func (tx *Tx) Interview(ctx context.Context, id int64) (*Interview, error) {
	iv, err := scanInterview(tx.queryRow(ctx, `SELECT `+interviewCols+` FROM interviews WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("interview %d: %w", id, ErrNotFound)
	}
	return iv, err
}

// FindInterview returns the interview with this iCalendar UID, or an error
// wrapping ErrNotFound.
func (tx *Tx) FindInterview(ctx context.Context, uid string) (*Interview, error) {
	iv, err := scanInterview(tx.queryRow(ctx, `SELECT `+interviewCols+` FROM interviews WHERE uid = ?`, strings.TrimSpace(uid)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("interview %s: %w", uid, ErrNotFound)
	}
	return iv, err
}

// InterviewOfAsk returns the ask's newest interview that is not cancelled
// or declined, or an error wrapping ErrNotFound.
func (tx *Tx) InterviewOfAsk(ctx context.Context, askID int64) (*Interview, error) {
	iv, err := scanInterview(tx.queryRow(ctx, `SELECT `+interviewCols+` FROM interviews
		WHERE ask_id = ? AND status NOT IN ('cancelled', 'declined') ORDER BY id DESC LIMIT 1`, askID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("interview of ask %d: %w", askID, ErrNotFound)
	}
	return iv, err
}

// Interviews lists every interview, by start time.
func (tx *Tx) Interviews(ctx context.Context) ([]*Interview, error) {
	return tx.interviews(ctx, `1=1 ORDER BY start_at, id`)
}

// UnsyncedInterviews lists the interviews whose current state has not been
// written to the user's calendar yet.
func (tx *Tx) UnsyncedInterviews(ctx context.Context) ([]*Interview, error) {
	return tx.interviews(ctx, `version > synced_version ORDER BY id`)
}

// ClashingInterviews lists the interviews, other than those of exceptAskID,
// that are not declined or cancelled and overlap [start, end).
func (tx *Tx) ClashingInterviews(ctx context.Context, start, end time.Time, exceptAskID int64) ([]*Interview, error) {
	return tx.interviews(ctx, `status NOT IN ('declined', 'cancelled') AND ask_id <> ? AND start_at < ? AND end_at > ?
		ORDER BY start_at`, exceptAskID, FormatTime(end), FormatTime(start))
}

func (tx *Tx) interviews(ctx context.Context, where string, args ...any) ([]*Interview, error) {
	return queryRows(ctx, tx, "list interviews", scanInterview, `SELECT `+interviewCols+` FROM interviews WHERE `+where, args...)
}

// MarkInterviewSynced records that the interview, as it was at version, is
// on the user's calendar. It reports false when the row changed meanwhile
// (a higher version): that change stays unsynced and the sync writes it
// again. A version older than the one already recorded changes nothing.
func (tx *Tx) MarkInterviewSynced(ctx context.Context, id, version int64) (bool, error) {
	var cur int64
	err := tx.queryRow(ctx, `UPDATE interviews SET synced_version = MAX(synced_version, ?1),
		synced_seq = CASE WHEN version = ?1 THEN sequence ELSE synced_seq END
		WHERE id = ?2 RETURNING version`, version, id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("mark interview %d synced: %w", id, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("mark interview %d synced: %w", id, err)
	}
	return cur == version, nil
}

// NoteDaemonError records a problem a daemon loop met (shown by `status`):
// the same source and text again only bump its count and time.
func (tx *Tx) NoteDaemonError(ctx context.Context, source, text string) error {
	now := FormatTime(tx.now)
	res, err := tx.exec(ctx, `UPDATE daemon_errors SET count = count + 1, last_at = ? WHERE source = ? AND text = ?`, now, source, text)
	if err != nil {
		return fmt.Errorf("note daemon error: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO daemon_errors (source, text, count, first_at, last_at) VALUES (?, ?, 1, ?, ?)`,
		source, text, now, now); err != nil {
		return fmt.Errorf("note daemon error: %w", err)
	}
	return nil
}

// DaemonErrorCount returns how many times problems of source were noted
// (the sum of their counts).
func (tx *Tx) DaemonErrorCount(ctx context.Context, source string) (int, error) {
	var n int
	if err := tx.queryRow(ctx, `SELECT COALESCE(SUM(count), 0) FROM daemon_errors WHERE source = ?`, source).Scan(&n); err != nil {
		return 0, fmt.Errorf("count daemon errors: %w", err)
	}
	return n, nil
}
