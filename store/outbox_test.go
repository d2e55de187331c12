package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestOutboxMoves(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	add := func(purpose, mid string) int64 {
		m := &Message{Direction: Out, Purpose: purpose, State: MsgApproved, MessageID: mid, ApprovedAt: now}
		if err := db.Update(ctx, func(tx *Tx) error { return tx.InsertMessage(ctx, m) }); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	a, b, inv := add(PurposeInterviewRequest, "a@x"), add(PurposeFollowup, "b@x"), add(PurposeInvite, "i@x")
	up := func(fn func(tx *Tx) error) error { return db.Update(ctx, fn) }
	get := func(id int64) *Message {
		var m *Message
		db.View(ctx, func(tx *Tx) error { m, err = tx.Message(ctx, id); return err })
		return m
	}

	if err := up(func(tx *Tx) error { return tx.MarkSent(ctx, a, "250 ok") }); !errors.Is(err, ErrStateChanged) {
		t.Errorf("MarkSent of an approved message = %v, want ErrStateChanged", err)
	}
	if err := up(func(tx *Tx) error { return tx.BeginSending(ctx, a, []byte("raw")) }); err != nil {
		t.Fatal(err)
	}
	if err := up(func(tx *Tx) error { return tx.BeginSending(ctx, a, []byte("raw")) }); !errors.Is(err, ErrStateChanged) {
		t.Errorf("a second BeginSending = %v, want ErrStateChanged", err)
	}
	if m := get(a); m.State != MsgSending || m.Attempts != 1 || string(m.Raw) != "raw" {
		t.Fatalf("after BeginSending: %s, %d attempts, raw %q", m.State, m.Attempts, m.Raw)
	}
	now = now.Add(time.Minute)
	if err := up(func(tx *Tx) error { return tx.MarkSent(ctx, a, "250 queued") }); err != nil {
		t.Fatal(err)
	}
	if m := get(a); m.State != MsgSent || !m.SentAt.Equal(now) || m.SMTPReply != "250 queued" {
		t.Fatalf("after MarkSent: %+v", m)
	}

	// b: temporary failure, then failed, then requeued from the start.
	up(func(tx *Tx) error { return tx.BeginSending(ctx, b, []byte("b")) })
	next := now.Add(time.Hour)
	if err := up(func(tx *Tx) error { return tx.RetryLater(ctx, b, next, "450 later") }); err != nil {
		t.Fatal(err)
	}
	if m := get(b); m.State != MsgApproved || !m.NextAttemptAt.Equal(next) || m.Error != "450 later" {
		t.Fatalf("after RetryLater: %+v", m)
	}
	up(func(tx *Tx) error { return tx.MarkSendFailed(ctx, b, "550 no") })
	if err := up(func(tx *Tx) error { return tx.Requeue(ctx, b) }); err != nil {
		t.Fatal(err)
	}
	if m := get(b); m.State != MsgApproved || m.Attempts != 0 || !m.NextAttemptAt.IsZero() {
		t.Fatalf("after Requeue of a failed message: %s, %d attempts, next %v", m.State, m.Attempts, m.NextAttemptAt)
	}

	// Counting: a is sent today; the invite, once sent, counts but is not "regular".
	up(func(tx *Tx) error { return tx.BeginSending(ctx, inv, []byte("i")) })
	now = now.Add(time.Minute)
	up(func(tx *Tx) error { return tx.MarkSent(ctx, inv, "250") })
	var c SendCounts
	db.View(ctx, func(tx *Tx) error { c, err = tx.CountSends(ctx, now.Add(-time.Hour)); return err })
	if err != nil || c.Since != 2 || !c.LastRegular.Equal(now.Add(-time.Minute)) {
		t.Errorf("CountSends = %+v, %v; want 2 since, last regular at a's send", c, err)
	}

	// Sent copies: a and inv pending, then filed and skipped.
	var pending []*Message
	db.View(ctx, func(tx *Tx) error { pending, err = tx.PendingSentCopies(ctx, 10); return err })
	if len(pending) != 2 {
		t.Fatalf("pending copies = %d, want 2", len(pending))
	}
	up(func(tx *Tx) error { return tx.SetSentCopy(ctx, a, CopyFiled, "Sent") })
	up(func(tx *Tx) error { return tx.SetSentCopy(ctx, inv, CopySkipped, "provider") })
	db.View(ctx, func(tx *Tx) error { pending, err = tx.PendingSentCopies(ctx, 10); return err })
	if len(pending) != 0 {
		t.Errorf("pending copies after filing = %d", len(pending))
	}
	var state, note string
	db.View(ctx, func(tx *Tx) error { state, note, err = tx.SentCopy(ctx, a); return err })
	if state != CopyFiled || note != "Sent" {
		t.Errorf("SentCopy = %q %q", state, note)
	}
	var box []*Message
	db.View(ctx, func(tx *Tx) error { box, err = tx.Outbox(ctx); return err })
	if len(box) != 1 || box[0].ID != b {
		t.Errorf("Outbox = %v, want only b", box)
	}
}
