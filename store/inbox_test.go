package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestStoredMessageIDs: the batch dedupe finds exactly the stored ids, with
// or without angle brackets, in either direction, across the 500-id split.
func TestStoredMessageIDs(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.InsertMessage(ctx, &Message{Direction: Out, Purpose: PurposeThanks, State: MsgDraft, MessageID: "out-1@x"}); err != nil {
			return err
		}
		return tx.InsertMessage(ctx, &Message{Direction: In, Purpose: "reply", State: MsgReceived, MessageID: "in-1@x"})
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"<out-1@x>", "in-1@x", "none@x", "<in-1@x>"}
	for i := range 600 {
		ids = append(ids, fmt.Sprintf("filler-%d@x", i))
	}
	ids = append(ids, "out-1@x")
	err = db.View(ctx, func(tx *Tx) error {
		got, err := tx.StoredMessageIDs(ctx, ids)
		if err != nil {
			return err
		}
		if len(got) != 2 || !got["out-1@x"] || !got["in-1@x"] {
			t.Errorf("StoredMessageIDs = %v, want out-1@x and in-1@x", got)
		}
		for _, id := range []string{"out-1@x", "<in-1@x>", "none@x"} {
			has, err := tx.HasMessageID(ctx, id)
			if err != nil {
				return err
			}
			if has != got[strings.Trim(id, "<> ")] {
				t.Errorf("HasMessageID(%s) = %v, StoredMessageIDs says %v", id, has, got[strings.Trim(id, "<> ")])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointScanTo: the bound of a scan under way is kept with the
// checkpoint and cleared with it; a mailbox never read has none.
func TestCheckpointScanTo(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	get := func() Checkpoint {
		t.Helper()
		var cp Checkpoint
		if err := db.View(ctx, func(tx *Tx) (err error) { cp, err = tx.Checkpoint(ctx, "INBOX"); return }); err != nil {
			t.Fatal(err)
		}
		return cp
	}
	set := func(v, last, scanTo uint32) {
		t.Helper()
		if err := db.Update(ctx, func(tx *Tx) error { return tx.SetCheckpoint(ctx, "INBOX", v, last, scanTo) }); err != nil {
			t.Fatal(err)
		}
	}
	if cp := get(); cp.UIDValidity != 0 || cp.LastUID != 0 || cp.ScanTo != 0 {
		t.Errorf("never read: %+v, want zero", cp)
	}
	set(7, 100, 5000)
	if cp := get(); cp.UIDValidity != 7 || cp.LastUID != 100 || cp.ScanTo != 5000 {
		t.Errorf("mid-scan: %+v, want 7/100/5000", cp)
	}
	set(7, 5000, 0)
	if cp := get(); cp.LastUID != 5000 || cp.ScanTo != 0 {
		t.Errorf("scan done: %+v, want 5000 and no bound", cp)
	}
}

// TestInboxSyncedAt: zero before the first catch-up, then the time recorded
// last (to the microsecond, as times are stored).
func TestInboxSyncedAt(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	read := func() time.Time {
		t.Helper()
		var at time.Time
		if err := db.View(ctx, func(tx *Tx) (err error) { at, err = tx.InboxSyncedAt(ctx); return }); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := read(); !at.IsZero() {
		t.Fatalf("InboxSyncedAt before any catch-up = %v, want zero", at)
	}
	for _, want := range []time.Time{time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} {
		if err := db.Update(ctx, func(tx *Tx) error { return tx.SetInboxSyncedAt(ctx, want) }); err != nil {
			t.Fatal(err)
		}
		if at := read(); !at.Equal(want) {
			t.Errorf("InboxSyncedAt = %v, want %v", at, want)
		}
	}
}

// TestConnectorAddresses: every address of the connector of an open intro
// ask, lower-case; not the connector of a closed one, nor anyone of an
// interview ask.
func TestConnectorAddresses(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	err := db.Update(ctx, func(tx *Tx) error {
		people := map[string]*Contact{}
		for name, emails := range map[string][]string{
			"dad": {"Dad@Example.com", "dad@work.example"}, "old": {"old@example.com"},
			"jane": {"jane@example.com"}, "tom": {"tom@example.com"},
		} {
			c := &Contact{Name: name, Emails: emails}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
			people[name] = c
		}
		for _, a := range []*Ask{
			{Kind: KindIntro, ConnectorID: people["dad"].ID, LookingFor: "sports marketing", State: AskWaiting},
			{Kind: KindIntro, ConnectorID: people["old"].ID, LookingFor: "finance", State: AskClosed},
			{Kind: KindInterview, ConnectorID: people["tom"].ID, TargetID: people["jane"].ID, State: AskWaiting},
		} {
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx *Tx) error {
		got, err := tx.ConnectorAddresses(ctx)
		if err != nil {
			return err
		}
		if len(got) != 2 || !got["dad@example.com"] || !got["dad@work.example"] {
			t.Errorf("ConnectorAddresses = %v, want dad's two addresses", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
