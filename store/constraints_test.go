package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestConstraints(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.Now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
	var jane, dad Contact
	err := db.Update(ctx, func(tx *Tx) error {
		jane = Contact{Name: "Jane Doe", Emails: []string{"Jane@Example.com", "jane@work.example"}, Tags: []string{"Sports", "sports", " mentor "}}
		if err := tx.InsertContact(ctx, &jane); err != nil {
			return err
		}
		dad = Contact{Name: "Dad", Emails: []string{"dad@example.com"}}
		return tx.InsertContact(ctx, &dad)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := jane.Tags; len(got) != 2 || got[0] != "sports" || got[1] != "mentor" {
		t.Errorf("tags = %q, want [sports mentor]", got)
	}

	t.Run("one address per contact", func(t *testing.T) {
		err := db.Update(ctx, func(tx *Tx) error {
			return tx.InsertContact(ctx, &Contact{Name: "Other", Emails: []string{"JANE@example.com"}})
		})
		var taken *EmailTakenError
		if !errors.As(err, &taken) || taken.ContactID != jane.ID || !errors.Is(err, ErrExists) {
			t.Fatalf("InsertContact(dup address) = %v, want EmailTakenError naming %d", err, jane.ID)
		}
		// The failed transaction left nothing behind.
		db.View(ctx, func(tx *Tx) error {
			cs, _ := tx.Contacts(ctx, ContactFilter{NamePrefix: "oth"})
			if len(cs) != 0 {
				t.Errorf("a half-added contact survived: %v", cs)
			}
			return nil
		})
		// And the raw constraint holds without the Go check.
		err = db.Update(ctx, func(tx *Tx) error {
			_, err := tx.exec(ctx, `INSERT INTO contact_emails (email, contact_id) VALUES ('jane@example.com', ?)`, dad.ID)
			return err
		})
		if !isUnique(err) {
			t.Fatalf("raw duplicate address = %v, want a unique violation", err)
		}
		err = db.Update(ctx, func(tx *Tx) error {
			_, err := tx.exec(ctx, `INSERT INTO contact_emails (email, contact_id) VALUES ('Upper@example.com', ?)`, dad.ID)
			return err
		})
		if err == nil {
			t.Fatal("an upper-case address was stored")
		}
	})

	t.Run("lookups", func(t *testing.T) {
		db.View(ctx, func(tx *Tx) error {
			c, err := tx.ContactByEmail(ctx, "JANE@WORK.example")
			if err != nil || c.ID != jane.ID || len(c.Emails) != 2 || c.Emails[0] != "jane@example.com" {
				t.Errorf("ContactByEmail = %+v, %v", c, err)
			}
			cs, err := tx.Contacts(ctx, ContactFilter{Tag: "SPORTS"})
			if err != nil || len(cs) != 1 || cs[0].ID != jane.ID {
				t.Errorf("Contacts(tag sports) = %v, %v", cs, err)
			}
			cs, _ = tx.Contacts(ctx, ContactFilter{Tag: "sport"})
			if len(cs) != 0 {
				t.Errorf("Contacts(tag sport) matched a longer tag: %v", cs)
			}
			return nil
		})
	})

	t.Run("connection uniqueness", func(t *testing.T) {
		add := func(from, to int64) error {
			return db.Update(ctx, func(tx *Tx) error {
				return tx.AddConnection(ctx, &Connection{FromID: from, ToID: to, Note: "tennis"})
			})
		}
		if err := add(dad.ID, jane.ID); err != nil {
			t.Fatal(err)
		}
		if err := add(dad.ID, jane.ID); !errors.Is(err, ErrExists) {
			t.Fatalf("second connection = %v, want ErrExists", err)
		}
		if err := add(jane.ID, dad.ID); err != nil {
			t.Fatalf("reverse connection = %v, want allowed", err)
		}
		if err := add(dad.ID, dad.ID); err == nil {
			t.Fatal("a contact knows themself")
		}
		db.View(ctx, func(tx *Tx) error {
			out, in, err := tx.Connections(ctx, dad.ID)
			if err != nil || len(out) != 1 || len(in) != 1 || out[0].ToID != jane.ID || out[0].Note != "tennis" {
				t.Errorf("Connections(dad) = %v, %v, %v", out, in, err)
			}
			return nil
		})
	})

	t.Run("ask check", func(t *testing.T) {
		bad := []Ask{
			{Kind: KindIntro, TargetID: jane.ID},                      // no connector
			{Kind: KindIntro, ConnectorID: dad.ID},                    // neither target nor looking-for
			{Kind: KindInterview, ConnectorID: dad.ID},                // no target
			{Kind: "coffee", TargetID: jane.ID},                       // unknown kind
			{Kind: KindInterview, TargetID: jane.ID, State: "sleepy"}, // unknown state
		}
		for _, a := range bad {
			a := a
			err := db.Update(ctx, func(tx *Tx) error { return tx.InsertAsk(ctx, &a) })
			if err == nil {
				t.Errorf("InsertAsk(%+v) accepted", a)
			}
		}
		good := []Ask{
			{Kind: KindIntro, ConnectorID: dad.ID, LookingFor: "sports marketing"},
			{Kind: KindIntro, ConnectorID: dad.ID, TargetID: jane.ID},
			{Kind: KindInterview, TargetID: jane.ID, Slots: []Slot{{Start: db.Now(), End: db.Now().Add(30 * time.Minute)}}},
		}
		for _, a := range good {
			a := a
			if err := db.Update(ctx, func(tx *Tx) error { return tx.InsertAsk(ctx, &a) }); err != nil {
				t.Errorf("InsertAsk(%+v) = %v", a, err)
			}
		}
	})

	t.Run("state change writes the timeline", func(t *testing.T) {
		var a Ask
		err := db.Update(ctx, func(tx *Tx) error {
			a = Ask{Kind: KindInterview, TargetID: dad.ID}
			if err := tx.InsertAsk(ctx, &a); err != nil {
				return err
			}
			return tx.SetAskState(ctx, a.ID, AskWaiting, "sent", "interview request")
		})
		if err != nil {
			t.Fatal(err)
		}
		// A failing transaction writes neither.
		db.Update(ctx, func(tx *Tx) error {
			tx.SetAskState(ctx, a.ID, AskClosed, "", "")
			return errors.New("boom")
		})
		db.View(ctx, func(tx *Tx) error {
			got, _ := tx.Ask(ctx, a.ID)
			ev, _ := tx.Timeline(ctx, a.ID)
			if got.State != AskWaiting || len(ev) != 2 || ev[1].Event != "sent" || ev[1].Detail != "interview request (draft → waiting)" {
				t.Errorf("after SetAskState: state %s, timeline %+v", got.State, ev)
			}
			return nil
		})
	})

	t.Run("message-id uniqueness", func(t *testing.T) {
		ins := func(id string) error {
			return db.Update(ctx, func(tx *Tx) error {
				return tx.InsertMessage(ctx, &Message{Direction: Out, Purpose: PurposeThanks, State: MsgDraft, MessageID: id})
			})
		}
		if err := ins("<a@example.com>"); err != nil {
			t.Fatal(err)
		}
		if err := ins("a@example.com"); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate Message-ID = %v, want ErrExists", err)
		}
		if err := ins(""); err != nil {
			t.Fatal(err)
		}
		if err := ins(""); err != nil {
			t.Fatalf("two messages without Message-ID = %v, want allowed", err)
		}
	})

	t.Run("message state guard", func(t *testing.T) {
		var m Message
		db.Update(ctx, func(tx *Tx) error {
			m = Message{Direction: Out, Purpose: PurposeThanks, State: MsgDraft, MessageID: "g@x"}
			return tx.InsertMessage(ctx, &m)
		})
		if err := db.Update(ctx, func(tx *Tx) error { return tx.SetMessageState(ctx, m.ID, MsgApproved, MsgDraft) }); err != nil {
			t.Fatal(err)
		}
		err := db.Update(ctx, func(tx *Tx) error { return tx.SetMessageState(ctx, m.ID, MsgRejected, MsgDraft) })
		if !errors.Is(err, ErrStateChanged) {
			t.Fatalf("reject an approved message = %v, want ErrStateChanged", err)
		}
		db.View(ctx, func(tx *Tx) error {
			got, _ := tx.Message(ctx, m.ID)
			if got.State != MsgApproved || !got.ApprovedAt.Equal(db.Now()) {
				t.Errorf("message = %s approved at %v", got.State, got.ApprovedAt)
			}
			return nil
		})
	})

	t.Run("view is read-only", func(t *testing.T) {
		err := db.View(ctx, func(tx *Tx) error {
			return tx.InsertContact(ctx, &Contact{Name: "Sneaky"})
		})
		if err == nil {
			t.Fatal("View wrote")
		}
	})
}

// A name prefix matches in any case, accented letters included (SQLite's
// LIKE folds only ASCII).
func TestNamePrefixAnyCase(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	err := db.Update(ctx, func(tx *Tx) error {
		for _, n := range []string{"Émile Zola", "Örjan Berg", "emily Stone", "Zoë 100%_sure"} {
			if err := tx.InsertContact(ctx, &Contact{Name: n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string]string{
		"émile": "Émile Zola", "ÉMILE Z": "Émile Zola", "örjan": "Örjan Berg", "ÖR": "Örjan Berg",
		"EMILY": "emily Stone", "zoË 100%_": "Zoë 100%_sure",
	} {
		db.View(ctx, func(tx *Tx) error {
			cs, err := tx.Contacts(ctx, ContactFilter{NamePrefix: prefix})
			if err != nil || len(cs) != 1 || cs[0].Name != want {
				var names []string
				for _, c := range cs {
					names = append(names, c.Name)
				}
				t.Errorf("Contacts(prefix %q) = %q, %v; want [%s]", prefix, names, err, want)
			}
			return nil
		})
	}
	db.View(ctx, func(tx *Tx) error {
		if cs, _ := tx.Contacts(ctx, ContactFilter{NamePrefix: "zoë 100%x"}); len(cs) != 0 {
			t.Errorf("%% in a prefix acted as a wildcard: %v", cs)
		}
		return nil
	})
}
