package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/calendar/calendartest"
	"github.com/coffeechat/coffeechat/demo"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// wantInviteShape is the MIME tree of Google's own invitations, which
// coffeechat's invite, update (REQUEST) and cancel (CANCEL) follow.
const wantInviteShape = "multipart/mixed[multipart/alternative[text/plain,text/calendar;method=%s/base64],application/ics:invite.ics/base64]"

// received is one calendar message as it reached the person's INBOX.
type received struct {
	name   string
	raw    []byte
	parts  map[string][]byte // decoded bodies by content type
	method string
	ev     calendar.Event
}

// TestInterviewCalendarRig is the calendar side of an interview on real
// Postfix, Dovecot and Radicale, the daemon a subprocess: ask → approve →
// sent → the person's reply (through the rig's Postfix) picks the second
// proposed time → the invite reaches their INBOX (Google's MIME shape, a
// readable METHOD:REQUEST at that time) → their iMIP REPLY ACCEPTED → the
// interview is accepted in `interviews --json`, in ics_dir and on CalDAV;
// then `interview move` and `interview cancel` reach their INBOX (same UID,
// SEQUENCE 1 then 2, METHOD:CANCEL), ics_dir keeps it CANCELLED and CalDAV
// drops it. With COFFEECHAT_XCHECK=1, python-icalendar and ical.js read the
// three calendars exactly as received, and must agree with coffeechat.
func TestInterviewCalendarRig(t *testing.T) {
	w := newWorld(t)
	s := w.story
	s.Priya.Email = w.rig.User(t, "priya")
	w.people = append(w.people, s.Priya)
	me := s.Me

	davURL := ""
	if w.rig.CalDAV != "" {
		davURL = calendartest.NewCollection(t, w.rig.CalDAV, me.Email, w.rig.Password)
		cfg, err := os.ReadFile(w.cfg)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(cfg), "[calendar]\n", fmt.Sprintf("[calendar]\ncaldav_url = %q\ncaldav_username = %q\ncaldav_password_env = \"COFFEECHAT_RIG_PASSWORD\"\n", davURL, me.Email), 1)
		if err := os.WriteFile(w.cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	} else if os.Getenv("COFFEECHAT_RIG") == "required" {
		t.Fatal("COFFEECHAT_RIG=required but COFFEECHAT_RIG_CALDAV is not set")
	} else {
		t.Log("COFFEECHAT_RIG_CALDAV not set: CalDAV is not checked")
	}
	var dav *calendar.CalDAV
	if davURL != "" {
		var err error
		if dav, err = calendar.NewCalDAV(davURL, me.Email, w.rig.Password, &http.Client{Timeout: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	icsDir := calendar.Dir{Path: filepath.Join(w.dir, "calendar")}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w.start()

	// The ask, approved and sent.
	if _, err := s.Run(ctx, "contact", "add", s.Priya.Name, "--email", s.Priya.Email, "--org", s.Priya.Org, "--role", s.Priya.Role); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, "ask", "interview", "--to", s.Priya.Email, "--topic", "product design"); err != nil {
		t.Fatal(err)
	}
	d, err := s.Draft(ctx, s.Priya, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Approve(ctx, d); err != nil {
		t.Fatal(err)
	}
	request, err := s.Receive(ctx, s.Priya, "the interview request", func(_ []byte, m *inbox.Message) bool {
		return strings.EqualFold(m.From.Address, me.Email) && len(m.Calendar) == 0
	})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := inbox.Read(request, inbox.ReadOptions{Loc: s.Zone})
	if err != nil {
		t.Fatal(err)
	}
	var offered []string // the proposed times, as the request lists them
	for _, l := range strings.Split(rm.Text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "- "); ok {
			offered = append(offered, strings.TrimSpace(v))
		}
	}
	if len(offered) < 2 {
		t.Fatalf("the request offers %d times, want at least 2:\n%s", len(offered), rm.Text)
	}

	// Priya picks the second one; the invite reaches her.
	if err := s.Answer(ctx, s.Priya, request, demo.Reply{Text: "Hi Sam,\n\nHappy to help! The second one works for me.\n\nTalk then,"}); err != nil {
		t.Fatal(err)
	}
	invite := w.receiveCalendar(ctx, "invite", calendar.MethodRequest)
	ev := invite.ev
	if got := outreach.FormatSlot(store.Slot{Start: ev.Start, End: ev.End}, s.Zone); got != offered[1] {
		t.Errorf("the invite is for %s, want the second time offered, %s (offered: %q)", got, offered[1], offered)
	}
	if ev.Sequence != 0 || ev.Status != calendar.StatusConfirmed || !strings.EqualFold(ev.Organizer.Email, me.Email) || ev.Organizer.Name != me.Name {
		t.Errorf("invite event: SEQUENCE %d, STATUS %s, ORGANIZER %+v; want 0, CONFIRMED, %s", ev.Sequence, ev.Status, ev.Organizer, me.Email)
	}
	if a, ok := ev.Attendee(s.Priya.Email); !ok || a.PartStat != calendar.PartNeedsAction || a.Name != s.Priya.Name || len(ev.Attendees) != 1 {
		t.Errorf("invite attendees %+v, want %s NEEDS-ACTION", ev.Attendees, s.Priya.Email)
	}
	text := string(invite.parts["text/plain"])
	for _, want := range []string{ev.Start.In(s.Zone).Format("15:04"), ev.Start.UTC().Format("15:04") + "–" + ev.End.UTC().Format("15:04") + " UTC"} {
		if !strings.Contains(text, want) {
			t.Errorf("the invite's text lacks %q (account zone and UTC):\n%s", want, text)
		}
	}
	row := w.interview(ctx, ev.UID)

	// She accepts (an iMIP REPLY through the rig's Postfix).
	inv, ok := demo.FindInvite(invite.raw)
	if !ok {
		t.Fatal("demo.FindInvite cannot read the invite")
	}
	if err := s.Mail.Send(ctx, s.Priya.Email, s.Priya.Respond(inv, calendar.PartAccepted, s.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	w.waitFor(ctx, "interview accepted in `interviews --json`, ics_dir and CalDAV", func() bool {
		r := w.interview(ctx, ev.UID)
		if r.Status != store.InterviewAccepted || !r.Synced {
			return false
		}
		if !userCopyIs(icsDir, ev.UID, s.Priya.Email, calendar.StatusConfirmed, calendar.PartAccepted, 0) {
			return false
		}
		if dav != nil {
			got, err := dav.Get(ctx, ev.UID)
			a, _ := got.Attendee(s.Priya.Email)
			return err == nil && a.PartStat == calendar.PartAccepted && got.Start.Equal(ev.Start)
		}
		return true
	})

	// Move: same UID, SEQUENCE 1, the new time.
	to := ev.Start.Add(24 * time.Hour)
	if _, err := s.Run(ctx, "interview", "move", fmt.Sprint(row.ID), "--to", to.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	update := w.receiveCalendar(ctx, "update", calendar.MethodRequest)
	if u := update.ev; u.UID != ev.UID || u.Sequence != 1 || !u.Start.Equal(to) || !u.End.Equal(to.Add(ev.End.Sub(ev.Start))) || u.Stamp.Before(ev.Stamp) {
		t.Errorf("update event UID %s SEQUENCE %d %v–%v, want UID %s SEQUENCE 1 from %v with a fresh DTSTAMP", u.UID, u.Sequence, u.Start, u.End, ev.UID, to)
	}
	if !strings.Contains(string(update.parts["text/plain"]), "moved") {
		t.Errorf("the update's text has no note of the move:\n%s", update.parts["text/plain"])
	}
	w.waitFor(ctx, "the move on the user's calendar", func() bool {
		if !userCopyIs(icsDir, ev.UID, s.Priya.Email, calendar.StatusConfirmed, calendar.PartNeedsAction, 1) {
			return false
		}
		if dav != nil {
			got, err := dav.Get(ctx, ev.UID)
			return err == nil && got.Start.Equal(to) && got.Sequence == 1
		}
		return true
	})

	// Cancel: METHOD:CANCEL, STATUS:CANCELLED, same UID, SEQUENCE 2.
	if _, err := s.Run(ctx, "interview", "cancel", fmt.Sprint(row.ID), "--reason", "Something came up at work."); err != nil {
		t.Fatal(err)
	}
	cancelled := w.receiveCalendar(ctx, "cancel", calendar.MethodCancel)
	if c := cancelled.ev; c.UID != ev.UID || c.Sequence != 2 || c.Status != calendar.StatusCancelled || !c.Start.Equal(to) {
		t.Errorf("cancel event UID %s SEQUENCE %d STATUS %s at %v, want UID %s SEQUENCE 2 CANCELLED at %v", c.UID, c.Sequence, c.Status, c.Start, ev.UID, to)
	}
	w.waitFor(ctx, "the cancel on the user's calendar", func() bool {
		r := w.interview(ctx, ev.UID)
		if r.Status != store.InterviewCancelled || !r.Synced || !userCopyIs(icsDir, ev.UID, s.Priya.Email, calendar.StatusCancelled, "", 2) {
			return false
		}
		if dav != nil {
			_, err := dav.Get(ctx, ev.UID)
			return err != nil // deleted there
		}
		return true
	})
	w.checkNoDuplicates(ctx)

	t.Run("xcheck", func(t *testing.T) {
		calendartest.Require(t)
		var cases []calendartest.Case
		for _, r := range []received{invite, update, cancelled} {
			want := viewOf(r.method, r.ev)
			for _, part := range []string{"text/calendar", "application/ics"} {
				if own := viewOf(r.method, mustParse(t, r.parts[part]).Events[0]); !reflect.DeepEqual(own, want) {
					t.Errorf("%s: the %s part reads %+v, the text/calendar part %+v", r.name, part, own, want)
				}
				cases = append(cases, calendartest.Case{Name: r.name + " " + part, Data: r.parts[part], Want: want})
			}
		}
		calendartest.Check(t, cases...)
	})
}

// receiveCalendar waits for the next calendar message of method from the
// user in Priya's INBOX, checks its MIME tree and that its text/calendar part
// and its invite.ics both parse, and returns it.
func (w *world) receiveCalendar(ctx context.Context, name, method string) received {
	t, s := w.t, w.story
	t.Helper()
	raw, err := s.Receive(ctx, s.Priya, "the "+name, func(_ []byte, m *inbox.Message) bool {
		return strings.EqualFold(m.From.Address, s.Me.Email) && m.CalendarMethod == method
	})
	if err != nil {
		t.Fatal(err)
	}
	shape, parts := calendartest.Shape(t, raw)
	if want := fmt.Sprintf(wantInviteShape, method); shape != want {
		t.Errorf("%s MIME tree\n  %s\nwant\n  %s", name, shape, want)
	}
	cal := mustParse(t, parts["text/calendar"])
	if cal.Method != method || len(cal.Events) != 1 {
		t.Fatalf("%s: METHOD %q with %d events, want %s with 1", name, cal.Method, len(cal.Events), method)
	}
	if att := mustParse(t, parts["application/ics"]); att.Method != method || len(att.Events) != 1 || att.Events[0].UID != cal.Events[0].UID {
		t.Errorf("%s: invite.ics differs from the text/calendar part", name)
	}
	return received{name: name, raw: raw, parts: parts, method: method, ev: cal.Events[0]}
}

func mustParse(t testing.TB, data []byte) *calendar.Message {
	t.Helper()
	if len(data) == 0 {
		t.Fatal("no calendar part")
	}
	cal, err := calendar.Parse(data)
	if err != nil {
		t.Fatalf("calendar.Parse: %v", err)
	}
	return cal
}

// viewOf is how coffeechat reads an event, in the cross-check's terms.
func viewOf(method string, ev calendar.Event) calendartest.View {
	v := calendartest.View{Method: method, UID: ev.UID, Start: ev.Start.UTC().Format(time.RFC3339), End: ev.End.UTC().Format(time.RFC3339),
		Organizer: ev.Organizer.Email, Sequence: ev.Sequence, Status: ev.Status, Summary: ev.Summary}
	for _, a := range ev.Attendees {
		v.Attendees = append(v.Attendees, calendartest.Partner{Email: a.Email, PartStat: a.PartStat, CN: a.Name})
	}
	return v
}

// interview is the `interviews --json` row of uid (zero when absent).
func (w *world) interview(ctx context.Context, uid string) outreach.InterviewRow {
	out, err := w.cli(ctx, "interviews", "--json")
	if err != nil {
		w.t.Fatal(err)
	}
	var rows []outreach.InterviewRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		w.t.Fatalf("interviews --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.UID == uid {
			return r
		}
	}
	return outreach.InterviewRow{}
}

// userCopyIs reports whether ics_dir holds uid with that status, SEQUENCE
// and the attendee's PARTSTAT (any when partstat is empty).
func userCopyIs(dir calendar.Dir, uid, attendee, status, partstat string, seq int) bool {
	data, err := os.ReadFile(dir.File(uid))
	if err != nil {
		return false
	}
	cal, err := calendar.Parse(data)
	if err != nil || len(cal.Events) != 1 {
		return false
	}
	ev := cal.Events[0]
	a, ok := ev.Attendee(attendee)
	return ok && ev.UID == uid && ev.Status == status && ev.Sequence == seq && (partstat == "" || a.PartStat == partstat)
}

// waitFor polls cond until it holds, failing the test after the story's wait.
func (w *world) waitFor(ctx context.Context, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(w.story.Wait)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("waited %s for %s", w.story.Wait, what)
		}
		select {
		case <-ctx.Done():
			w.t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
