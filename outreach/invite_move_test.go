package outreach

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

// TestMoveBeforeAndAfterTheInviteLeft: a move before the invite left
// rewrites it (an invitation, same SEQUENCE, the old time unmentioned);
// after, an update whose subject reads like the invite's and whose note
// names only a time the person saw.
func TestMoveBeforeAndAfterTheInviteLeft(t *testing.T) {
	e := newCalEnv(t, "")
	ctx := context.Background()
	loc := e.o.Cfg.Location()
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	e.agree(a, e.received(a, "Jane Doe <jane.doe@acme.example>", nil), calSlots[1])
	iv := e.interviewOf(a.ID)
	first := e.outgoing(a.ID)[0]
	oldWhen := FormatSlot(slotOf(iv), loc)

	t1 := pst("2026-12-08 14:00")
	s, err := e.o.MoveInterview(ctx, iv.ID, t1)
	if err != nil {
		t.Fatal(err)
	}
	m := s.Message
	when1 := FormatSlot(slotOf(s.Interview), loc)
	if m.Purpose != store.PurposeInvite || s.Interview.Sequence != 0 || !strings.HasPrefix(m.Subject, "Invitation: Sam / Jane, "+when1) {
		t.Errorf("pending move: %s %q SEQUENCE %d, want a rewritten invitation, SEQUENCE 0", m.Purpose, m.Subject, s.Interview.Sequence)
	}
	if strings.Contains(m.Body, oldWhen) || strings.Contains(m.Body, "it was") {
		t.Errorf("the rewritten invite mentions a time never sent (%s):\n%s", oldWhen, m.Body)
	}
	for _, x := range e.outgoing(a.ID) {
		if x.ID == first.ID && x.State != store.MsgStale {
			t.Errorf("the unsent first invite is %s, want stale", x.State)
		}
	}

	// It leaves; two moves follow, the first update never leaving.
	e.update(func(ctx context.Context, tx *store.Tx) error { return tx.SetMessageState(ctx, m.ID, store.MsgSent) })
	t2, t3 := pst("2026-12-09 14:00"), pst("2026-12-10 14:00")
	if _, err := e.o.MoveInterview(ctx, iv.ID, t2); err != nil {
		t.Fatal(err)
	}
	s, err = e.o.MoveInterview(ctx, iv.ID, t3)
	if err != nil {
		t.Fatal(err)
	}
	m = s.Message
	when3 := FormatSlot(store.Slot{Start: t3, End: t3.Add(30 * time.Minute)}, loc)
	if m.Purpose != store.PurposeInviteUpdate || s.Interview.Sequence != 2 {
		t.Errorf("update: %s SEQUENCE %d, want invite_update SEQUENCE 2", m.Purpose, s.Interview.Sequence)
	}
	if want := "Updated invitation: Sam / Jane, " + when3; m.Subject != want {
		t.Errorf("update subject %q, want %q", m.Subject, want)
	}
	if !strings.Contains(m.Body, "(it was "+when1+")") {
		t.Errorf("update does not name the time they saw (%s):\n%s", when1, m.Body)
	}
	if w2 := FormatSlot(store.Slot{Start: t2, End: t2.Add(30 * time.Minute)}, loc); strings.Contains(m.Body, w2) {
		t.Errorf("update names %s, a time whose update never left:\n%s", w2, m.Body)
	}
}
