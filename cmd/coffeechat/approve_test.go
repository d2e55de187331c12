package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/coffeechat/coffeechat/daemon"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// TestApproveSaysWhoSends: after approving, the user learns whether a running
// daemon will send it (naming its PID) or that one must be started.
func TestApproveSaysWhoSends(t *testing.T) {
	r := newDaemonRig(t, nil)
	draft := func(i int) string {
		t.Helper()
		ctx := t.Context()
		db, err := store.Open(ctx, r.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var id int64
		err = db.Update(ctx, func(tx *store.Tx) error {
			addr := fmt.Sprintf("w%d@example.test", i)
			c := &store.Contact{Name: fmt.Sprintf("Who %d", i), Emails: []string{addr}}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgDraft,
				MessageID: mailer.NewMessageID("example.test"), From: "Sam Rivera <" + runUser + ">", To: addr,
				Subject: "Coffee?", Body: "Hello\n"}
			err := tx.InsertMessage(ctx, m)
			id = m.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(id, 10)
	}

	out, err := r.runCLI("approve", draft(1))
	if err != nil || !strings.Contains(out, "No daemon is running") {
		t.Errorf("approve without a daemon: %v\n%s", err, out)
	}
	lock, err := daemon.Acquire(r.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	out, err = r.runCLI("approve", draft(2))
	if err != nil || !strings.Contains(out, fmt.Sprintf("running daemon (PID %d)", os.Getpid())) {
		t.Errorf("approve with a daemon holding the database: %v\n%s", err, out)
	}
}
