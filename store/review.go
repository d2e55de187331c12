package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Review item states.
const (
	ReviewOpen      = "open"
	ReviewResolved  = "resolved"
	ReviewDismissed = "dismissed"
)

// ReviewItem is something only the user can decide (a reply the inbox was
// not sure of, a send that may have gone out, ...).
type ReviewItem struct {
	ID         int64
	AskID      int64 // 0: none
	MessageID  int64 // the messages row it is about, or 0
	Kind       string
	Summary    string
	Detail     string // JSON: the guess, the reply, the error
	State      string
	Resolution string
	CreatedAt  time.Time
	ResolvedAt time.Time
}

// InsertReviewItem adds r (state open) and sets r.ID.
func (tx *Tx) InsertReviewItem(ctx context.Context, r *ReviewItem) error {
	r.State, r.CreatedAt = ReviewOpen, tx.now
	res, err := tx.exec(ctx, `INSERT INTO review_items (ask_id, message_id, kind, summary, detail, state, created_at)
		VALUES (?, ?, ?, ?, ?, 'open', ?)`, nullID(r.AskID), nullID(r.MessageID), r.Kind, r.Summary, r.Detail, FormatTime(tx.now))
	if err != nil {
		return fmt.Errorf("insert review item: %w", err)
	}
	r.ID, err = res.LastInsertId()
	return err
}

// ResolveReviewItem closes an open item as resolved or dismissed.
func (tx *Tx) ResolveReviewItem(ctx context.Context, id int64, state, resolution string) error {
	if state != ReviewResolved && state != ReviewDismissed {
		return fmt.Errorf("review item %d: cannot move to %q", id, state)
	}
	res, err := tx.exec(ctx, `UPDATE review_items SET state = ?, resolution = ?, resolved_at = ? WHERE id = ? AND state = 'open'`,
		state, resolution, FormatTime(tx.now), id)
	if err != nil {
		return fmt.Errorf("resolve review item %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ReviewItem(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("review item %d is not open: %w", id, ErrStateChanged)
	}
	return nil
}

const reviewCols = `id, COALESCE(ask_id, 0), COALESCE(message_id, 0), kind, summary, detail, state, resolution, created_at, resolved_at`

func scanReview(s scanner) (*ReviewItem, error) {
	var r ReviewItem
	var created, resolved sql.NullString
	if err := s.Scan(&r.ID, &r.AskID, &r.MessageID, &r.Kind, &r.Summary, &r.Detail, &r.State, &r.Resolution, &created, &resolved); err != nil {
		return nil, err
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if r.ResolvedAt, err = parseTime(resolved); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReviewItem returns one review item.
func (tx *Tx) ReviewItem(ctx context.Context, id int64) (*ReviewItem, error) {
	r, err := scanReview(tx.queryRow(ctx, `SELECT `+reviewCols+` FROM review_items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("review item %d: %w", id, ErrNotFound)
	}
	return r, err
}

// OpenReviewItems lists the open review items, oldest first.
func (tx *Tx) OpenReviewItems(ctx context.Context) ([]*ReviewItem, error) {
	return queryRows(ctx, tx, "list review items", scanReview, `SELECT `+reviewCols+` FROM review_items WHERE state = 'open' ORDER BY id`)
}

// Interview is a meeting on the calendar.
type Interview struct {
	ID        int64
	AskID     int64
	UID       string
	Sequence  int
	Start     time.Time
	End       time.Time
	Status    string // invited | accepted | tentative | declined | cancelled
	Organizer string // us | them
	Location  string
	SyncedSeq int
	// Version counts the row's changes; SyncedVersion is the one last
	// written to the user's calendar (interviews.go).
	Version       int64
	SyncedVersion int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// BookedSlots returns the times of interviews not declined or cancelled that
// end after from: busy time for new proposals.
func (tx *Tx) BookedSlots(ctx context.Context, from time.Time) ([]Slot, error) {
	return queryRows(ctx, tx, "booked interviews", func(s scanner) (Slot, error) {
		var start, end sql.NullString
		var sl Slot
		err := s.Scan(&start, &end)
		if err == nil {
			sl.Start, err = parseTime(start)
		}
		if err == nil {
			sl.End, err = parseTime(end)
		}
		return sl, err
	}, `SELECT start_at, end_at FROM interviews
		WHERE status NOT IN ('declined', 'cancelled') AND end_at > ? ORDER BY start_at`, FormatTime(from))
}
