package outreach

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// theirInvite is a Google-style invitation of their own: a subject and UID
// of its own, no threading headers, from organizer to the user and others.
func theirInvite(from, summary, uid, date string, start, end time.Time, others ...string) []byte {
	lines := []string{"BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0", "METHOD:REQUEST",
		"BEGIN:VEVENT", "DTSTART:" + start.UTC().Format("20060102T150405Z"), "DTEND:" + end.UTC().Format("20060102T150405Z"),
		"DTSTAMP:20261201T174210Z", "ORGANIZER:mailto:" + from, "UID:" + uid,
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:" + from, "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:sam@example.com"}
	for _, o := range others {
		lines = append(lines, "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:"+o)
	}
	lines = append(lines, "SEQUENCE:0", "SUMMARY:"+summary, "END:VEVENT", "END:VCALENDAR", "")
	return []byte("From: <" + from + ">\r\nTo: Sam Rivera <sam@example.com>\r\nSubject: Invitation: " + summary + "\r\nDate: " + date +
		"\r\nMessage-ID: <" + uid + ".msg@google.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n" +
		strings.Join(lines, "\r\n"))
}

// applyInbox hands raw to the sink as the watcher would (Candidate, then Apply).
func (e *calEnv) applyInbox(uid imap.UID, raw []byte) {
	e.t.Helper()
	s, ctx := e.o.InboxSink(), context.Background()
	h := inbox.ParseHeaders(uid, raw)
	var fs []inbox.Fetched
	if ok, err := s.Candidate(ctx, h); err != nil {
		e.t.Fatal(err)
	} else if ok {
		fs = append(fs, inbox.Fetched{Headers: *h, Raw: raw})
	}
	if err := s.Apply(ctx, "INBOX", inbox.Checkpoint{UIDValidity: 7, LastUID: uid}, fs); err != nil {
		e.t.Fatal(err)
	}
}

// TestOrganizerMatchOnlyWhenUnambiguous: an invitation of their own ties to
// their ask only when it can be nothing else; an unrelated one (another
// time while an interview exists, a meeting with others, one sent before
// the ask, one for a time already past, one from an introducer) changes
// nothing.
func TestOrganizerMatchOnlyWhenUnambiguous(t *testing.T) {
	const omar, sent = "omar.haddad@gmail.com", "Tue, 1 Dec 2026 08:40:00 -0800"
	later := pst("2027-01-15 10:00")
	for _, c := range []struct {
		name    string
		agreed  bool // the ask is agreed on calSlots[0], our invite queued
		invite  []byte
		linked  bool
		connect bool // the sender introduces someone (intro ask), not the one to meet
	}{
		{name: "waiting, a meeting of the two", invite: theirInvite(omar, "Coffee with Sam", "c1@google.com", sent, later, later.Add(30*time.Minute)), linked: true},
		{name: "agreed, for the agreed time", agreed: true, invite: theirInvite(omar, "Coffee with Sam", "c2@google.com", sent, calSlots[0], calSlots[0].Add(30*time.Minute)), linked: true},
		{name: "agreed, another time", agreed: true, invite: theirInvite(omar, "Board meeting", "b1@google.com", sent, later, later.Add(2*time.Hour))},
		{name: "with others", invite: theirInvite(omar, "Board meeting", "b2@google.com", sent, later, later.Add(2*time.Hour), "board@league.example")},
		{name: "sent before the ask", invite: theirInvite(omar, "Reunion", "r1@google.com", "Mon, 2 Jun 2025 08:40:00 -0700", pst("2025-06-09 19:00"), pst("2025-06-09 22:00"))},
		{name: "for a past time", invite: theirInvite(omar, "Lunch", "l1@google.com", sent, pst("2026-11-20 12:00"), pst("2026-11-20 13:00"))},
		{name: "from an introducer", connect: true, invite: theirInvite(omar, "Coffee", "i1@google.com", sent, later, later.Add(30*time.Minute))},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newCalEnv(t, "[calendar]\nauto_invite = false\n")
			var a *store.Ask
			if c.connect {
				a = e.askOf("Jane Doe", "jane@acme.example")
				e.update(func(ctx context.Context, tx *store.Tx) error {
					o := &store.Contact{Name: "Omar Haddad", Emails: []string{omar}}
					if err := tx.InsertContact(ctx, o); err != nil {
						return err
					}
					intro := &store.Ask{Kind: store.KindIntro, ConnectorID: o.ID, State: store.AskWaiting, LookingFor: "product design"}
					return tx.InsertAsk(ctx, intro)
				})
			} else {
				a = e.askOf("Omar Haddad", omar)
			}
			var ours *store.Interview
			if c.agreed {
				e.agree(a, e.received(a, omar, nil), calSlots[0])
				ours = e.interviewOf(a.ID)
			}
			before := e.ask(a.ID).State
			e.applyInbox(10, c.invite)
			var got *store.Interview
			e.view(func(ctx context.Context, tx *store.Tx) error {
				got, _ = tx.InterviewOfAsk(ctx, a.ID)
				return nil
			})
			switch {
			case c.linked && (got == nil || got.Organizer != store.OrganizerThem):
				t.Errorf("interview %+v, want theirs linked; timeline:\n%s", got, e.timeline(a.ID))
			case !c.linked && ours != nil && (got == nil || got.ID != ours.ID):
				t.Errorf("interview %+v, want ours (%d) kept; timeline:\n%s", got, ours.ID, e.timeline(a.ID))
			case !c.linked && ours == nil && got != nil:
				t.Errorf("interview %+v linked from an unrelated invitation", got)
			}
			if !c.linked {
				if s := e.ask(a.ID).State; s != before {
					t.Errorf("ask %s, want it left %s", s, before)
				}
				var intros []*store.Ask
				e.view(func(ctx context.Context, tx *store.Tx) (err error) {
					intros, err = tx.Asks(ctx, store.AskFilter{Kind: store.KindIntro})
					return
				})
				for _, in := range intros {
					if in.State != store.AskWaiting {
						t.Errorf("intro ask %d is %s, want waiting", in.ID, in.State)
					}
				}
			}
		})
	}
}
