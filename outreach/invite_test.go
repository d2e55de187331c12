package outreach

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/calendar/calendartest"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// calNow is a Monday noon in Los Angeles; the slots below are later that week.
var calNow = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

func pst(s string) time.Time {
	loc, _ := time.LoadLocation("America/Los_Angeles")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// calSlots are the slots the ask proposed (Wed 10:00, Thu 14:00, Fri 11:30 PST).
var calSlots = []time.Time{pst("2026-12-02 10:00"), pst("2026-12-03 14:00"), pst("2026-12-04 11:30")}

type calEnv struct {
	t  *testing.T
	o  *Outreach
	db *store.DB
}

func newCalEnv(t *testing.T, extra string) *calEnv {
	t.Helper()
	o, db := newTestOutreach(t, filepath.Join(t.TempDir(), "c.db"), extra, calNow)
	o.RegisterCalendarReviews()
	return &calEnv{t: t, o: o, db: db}
}

func (e *calEnv) update(fn func(ctx context.Context, tx *store.Tx) error) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.db.Update(ctx, func(tx *store.Tx) error { return fn(ctx, tx) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *calEnv) view(fn func(ctx context.Context, tx *store.Tx) error) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.db.View(ctx, func(tx *store.Tx) error { return fn(ctx, tx) }); err != nil {
		e.t.Fatal(err)
	}
}

// askOf stores a waiting interview ask to a new contact, with the sent request.
func (e *calEnv) askOf(name, email string) *store.Ask {
	e.t.Helper()
	var a *store.Ask
	e.update(func(ctx context.Context, tx *store.Tx) error {
		c := &store.Contact{Name: name, Emails: []string{email}}
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		a = &store.Ask{Kind: store.KindInterview, TargetID: c.ID, State: store.AskWaiting, Topic: "sports marketing"}
		for _, s := range calSlots {
			a.Slots = append(a.Slots, store.Slot{Start: s.UTC(), End: s.Add(30 * time.Minute).UTC()})
		}
		if err := tx.InsertAsk(ctx, a); err != nil {
			return err
		}
		return tx.InsertMessage(ctx, &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest,
			State: store.MsgSent, MessageID: fmt.Sprintf("req%d@example.com", a.ID), From: "Sam Rivera <sam@example.com>",
			To: email, Subject: "Advice?", SentAt: calNow.Add(-24 * time.Hour)})
	})
	return a
}

// received stores an incoming message of the ask (raw may be nil).
func (e *calEnv) received(a *store.Ask, from string, raw []byte) *store.Message {
	e.t.Helper()
	m := &store.Message{AskID: a.ID, Direction: store.In, Purpose: "reply", State: store.MsgReceived,
		MessageID: fmt.Sprintf("in%d.%d@mail.example", a.ID, time.Now().UnixNano()), InReplyTo: fmt.Sprintf("req%d@example.com", a.ID),
		References: fmt.Sprintf("req%d@example.com", a.ID), From: from, To: "Sam Rivera <sam@example.com>", Subject: "Re: Advice?", Raw: raw}
	e.update(func(ctx context.Context, tx *store.Tx) error { return tx.InsertMessage(ctx, m) })
	return m
}

func (e *calEnv) agree(a *store.Ask, in *store.Message, start time.Time) {
	e.t.Helper()
	e.update(func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.Ask(ctx, a.ID)
		if err != nil {
			return err
		}
		return e.o.AgreeTx(ctx, tx, *cur, *in, start, "test")
	})
}

func (e *calEnv) ask(id int64) *store.Ask {
	e.t.Helper()
	var a *store.Ask
	e.view(func(ctx context.Context, tx *store.Tx) (err error) { a, err = tx.Ask(ctx, id); return })
	return a
}

func (e *calEnv) outgoing(askID int64) []*store.Message {
	e.t.Helper()
	var ms []*store.Message
	e.view(func(ctx context.Context, tx *store.Tx) (err error) {
		ms, err = tx.Messages(ctx, store.MessageFilter{AskID: askID, Direction: store.Out})
		return
	})
	var out []*store.Message
	for _, m := range ms {
		if isCalendarPurpose(m.Purpose) {
			out = append(out, m)
		}
	}
	return out
}

func (e *calEnv) interviewOf(askID int64) *store.Interview {
	e.t.Helper()
	var iv *store.Interview
	e.view(func(ctx context.Context, tx *store.Tx) (err error) { iv, err = tx.InterviewOfAsk(ctx, askID); return })
	return iv
}

func (e *calEnv) items(kind string) []*store.ReviewItem {
	e.t.Helper()
	var rs []*store.ReviewItem
	e.view(func(ctx context.Context, tx *store.Tx) (err error) { rs, err = tx.OpenReviewItems(ctx); return })
	var out []*store.ReviewItem
	for _, r := range rs {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func (e *calEnv) timeline(askID int64) string {
	e.t.Helper()
	var ev []store.Event
	e.view(func(ctx context.Context, tx *store.Tx) (err error) { ev, err = tx.Timeline(ctx, askID); return })
	var b strings.Builder
	for _, x := range ev {
		b.WriteString(x.Event + ": " + x.Detail + "\n")
	}
	return b.String()
}

// mimeShape writes the MIME tree of a raw message and returns the decoded
// bodies by content type (calendartest.Shape).
func mimeShape(t *testing.T, raw []byte) (string, map[string][]byte) {
	t.Helper()
	return calendartest.Shape(t, raw)
}

const wantInviteShape = "multipart/mixed[multipart/alternative[text/plain,text/calendar;method=REQUEST/base64],application/ics:invite.ics/base64]"

func TestAgreeSendsInvite(t *testing.T) {
	e := newCalEnv(t, "")
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	in := e.received(a, "Jane Doe <jane.doe@acme.example>", nil)
	e.agree(a, in, calSlots[1])

	if got := e.ask(a.ID); got.State != store.AskScheduled || !got.AgreedStart.Equal(calSlots[1]) {
		t.Fatalf("ask = %s agreed %v, want scheduled at %v; timeline:\n%s", got.State, got.AgreedStart, calSlots[1], e.timeline(a.ID))
	}
	if tl := e.timeline(a.ID); !strings.Contains(tl, "sent automatically") {
		t.Errorf("timeline does not say the invite goes automatically:\n%s", tl)
	}
	iv := e.interviewOf(a.ID)
	if iv.Sequence != 0 || iv.Status != store.InterviewInvited || iv.Organizer != store.OrganizerUs || !iv.End.Equal(calSlots[1].Add(30*time.Minute)) {
		t.Errorf("interview = %+v", iv)
	}
	ms := e.outgoing(a.ID)
	if len(ms) != 1 {
		t.Fatalf("%d calendar messages, want 1", len(ms))
	}
	m := ms[0]
	if m.Purpose != store.PurposeInvite || m.State != store.MsgApproved || !m.Auto || m.CalendarMethod != "REQUEST" {
		t.Errorf("invite message = %s/%s auto=%v method=%s, want invite/approved auto REQUEST", m.Purpose, m.State, m.Auto, m.CalendarMethod)
	}
	if m.InReplyTo != in.MessageID || !strings.Contains(m.References, in.MessageID) || !strings.Contains(m.References, fmt.Sprintf("req%d@example.com", a.ID)) {
		t.Errorf("threading: In-Reply-To %q References %q, want the reply and our request", m.InReplyTo, m.References)
	}
	if m.MessageID == "" || !strings.HasSuffix(m.MessageID, "@example.com") {
		t.Errorf("Message-ID %q not assigned under our domain", m.MessageID)
	}

	c, err := composeStored(m, calNow)
	if err != nil {
		t.Fatal(err)
	}
	shape, bodies := mimeShape(t, c.Raw)
	if shape != wantInviteShape {
		t.Errorf("MIME tree =\n  %s\nwant\n  %s", shape, wantInviteShape)
	}
	text := string(bodies["text/plain"])
	for _, want := range []string{"Thursday, 3 December 2026, 14:00–14:30 PST", "22:00–22:30 UTC", "Hi Jane"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, part := range []string{"text/calendar", "application/ics"} {
		cal, err := calendar.Parse(bodies[part])
		if err != nil {
			t.Fatalf("%s: %v", part, err)
		}
		if cal.Method != "REQUEST" || len(cal.Events) != 1 {
			t.Fatalf("%s: method %s, %d events", part, cal.Method, len(cal.Events))
		}
		ev := cal.Events[0]
		if ev.UID != iv.UID || ev.Sequence != 0 || !ev.Start.Equal(calSlots[1]) || !ev.End.Equal(iv.End) || ev.Status != "CONFIRMED" {
			t.Errorf("%s: event %+v, want UID %s SEQUENCE 0 at %v", part, ev, iv.UID, calSlots[1])
		}
		if ev.Organizer.Email != "sam@example.com" || ev.Organizer.Name != "Sam Rivera" {
			t.Errorf("%s: organizer %+v", part, ev.Organizer)
		}
		att, ok := ev.Attendee("jane.doe@acme.example")
		if !ok || att.PartStat != "NEEDS-ACTION" || att.Name != "Jane Doe" || len(ev.Attendees) != 1 {
			t.Errorf("%s: attendees %+v", part, ev.Attendees)
		}
		if !strings.Contains(ev.Summary, "Sam Rivera") || !strings.Contains(ev.Summary, "Jane Doe") || !strings.Contains(ev.Description, "sports marketing") {
			t.Errorf("%s: summary %q description %q", part, ev.Summary, ev.Description)
		}
	}
	raw := string(bodies["text/calendar"])
	for _, want := range []string{"RSVP=TRUE", "ROLE=REQ-PARTICIPANT", "DTSTART:20261203T220000Z"} {
		if !strings.Contains(raw, want) {
			t.Errorf("calendar lacks %s:\n%s", want, raw)
		}
	}
}

func TestAgreeQueuedWhenAutoInviteOff(t *testing.T) {
	e := newCalEnv(t, "[calendar]\nauto_invite = false\nlocation = \"https://meet.example/abc\"\n")
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	e.agree(a, e.received(a, "jane.doe@acme.example", nil), calSlots[0])
	ms := e.outgoing(a.ID)
	if len(ms) != 1 || ms[0].State != store.MsgDraft || ms[0].Auto {
		t.Fatalf("messages = %+v, want one draft invite, not auto", ms)
	}
	if tl := e.timeline(a.ID); !strings.Contains(tl, "queued for approval") {
		t.Errorf("timeline does not say queued:\n%s", tl)
	}
	cal, err := calendar.Parse(ms[0].Calendar)
	if err != nil {
		t.Fatal(err)
	}
	if ev := cal.Events[0]; ev.Location != "https://meet.example/abc" || ev.URL != "https://meet.example/abc" {
		t.Errorf("location %q url %q", ev.Location, ev.URL)
	}
}

func TestAgreeNeedsPickTime(t *testing.T) {
	cases := []struct {
		name  string
		start time.Time
		setup func(e *calEnv)
		want  string
	}{
		{"no time", time.Time{}, nil, "without a definite time"},
		{"outside availability", pst("2026-12-05 10:00"), nil, "outside your availability"}, // a Saturday
		{"past", pst("2026-11-30 09:00"), nil, "in the past"},
		{"clash", calSlots[1], func(e *calEnv) {
			b := e.askOf("Bill Turner", "bill@example.org")
			e.agree(b, e.received(b, "bill@example.org", nil), calSlots[1])
		}, "clashes with interview"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t, "")
			if tc.setup != nil {
				tc.setup(e)
			}
			a := e.askOf("Jane Doe", "jane.doe@acme.example")
			in := e.received(a, "jane.doe@acme.example", nil)
			e.agree(a, in, tc.start)
			if got := e.ask(a.ID); got.State != store.AskAgreed {
				t.Fatalf("ask state %s, want agreed; timeline:\n%s", got.State, e.timeline(a.ID))
			}
			if n := len(e.outgoing(a.ID)); n != 0 {
				t.Fatalf("%d invites queued, want none", n)
			}
			items := e.items(ReviewPickTime)
			if len(items) != 1 || !strings.Contains(items[0].Summary, tc.want) {
				t.Fatalf("pick_time items = %+v, want one saying %q", items, tc.want)
			}
			var d PickTime
			if err := json.Unmarshal([]byte(items[0].Detail), &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Candidates) == 0 || d.ReplyTo != in.ID {
				t.Errorf("detail = %+v, want candidates and the reply", d)
			}
			for _, c := range d.Candidates {
				if tc.setup != nil && c.Start.Equal(calSlots[1]) {
					t.Errorf("the clashing slot is offered as a candidate")
				}
			}
			// One command resolves it: pick a time and send.
			s, err := e.o.ScheduleAsk(context.Background(), a.ID, d.Candidates[0].Start)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.ask(a.ID); got.State != store.AskScheduled || !s.Interview.Start.Equal(d.Candidates[0].Start) {
				t.Errorf("after schedule: ask %s, interview at %v", got.State, s.Interview.Start)
			}
			if n := len(e.items(ReviewPickTime)); n != 0 {
				t.Errorf("%d pick_time items still open", n)
			}
			ms := e.outgoing(a.ID)
			if len(ms) != 1 || ms[0].InReplyTo != in.MessageID {
				t.Errorf("invite after schedule = %+v, want one replying to their message", ms)
			}
		})
	}
}

func TestApprovePickTimeWithOneCandidate(t *testing.T) {
	e := newCalEnv(t, "")
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	// Only one proposed slot left free: the others are taken by other interviews.
	for i, s := range []time.Time{calSlots[0], calSlots[2]} {
		b := e.askOf(fmt.Sprintf("Other %d", i), fmt.Sprintf("o%d@example.org", i))
		e.agree(b, e.received(b, fmt.Sprintf("o%d@example.org", i), nil), s)
	}
	e.agree(a, e.received(a, "jane.doe@acme.example", nil), time.Time{})
	items := e.items(ReviewPickTime)
	if len(items) != 1 {
		t.Fatalf("items %+v", items)
	}
	done, err := e.o.Approve(context.Background(), []string{fmt.Sprintf("r%d", items[0].ID)}, false)
	if err != nil {
		t.Fatal(err)
	}
	if done[0].State != store.ReviewResolved {
		t.Errorf("item state %s, want resolved", done[0].State)
	}
	if iv := e.interviewOf(a.ID); !iv.Start.Equal(calSlots[1]) {
		t.Errorf("interview at %v, want the single candidate %v", iv.Start, calSlots[1])
	}
}

func TestEarliestFreeSlot(t *testing.T) {
	e := newCalEnv(t, "")
	b := e.askOf("Bill", "bill@example.org")
	e.agree(b, e.received(b, "bill@example.org", nil), calSlots[0])
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	e.view(func(ctx context.Context, tx *store.Tx) error {
		s, ok, err := e.o.EarliestFreeSlotTx(ctx, tx, *a)
		if err != nil || !ok || !s.Start.Equal(calSlots[1]) {
			t.Errorf("EarliestFreeSlotTx = %v %v %v, want slot 2 (slot 1 is taken)", s, ok, err)
		}
		return nil
	})
}

// scheduled makes an ask to who with an interview of UID uid at start, as if
// our invite had gone out.
func (e *calEnv) scheduled(name, email, uid string, start time.Time) (*store.Ask, *store.Interview) {
	e.t.Helper()
	a := e.askOf(name, email)
	iv := &store.Interview{AskID: a.ID, UID: uid, Start: start.UTC(), End: start.Add(30 * time.Minute).UTC(), Status: store.InterviewInvited}
	e.update(func(ctx context.Context, tx *store.Tx) error {
		if err := tx.InsertInterview(ctx, iv); err != nil {
			return err
		}
		if err := tx.InsertMessage(ctx, &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInvite, State: store.MsgSent,
			MessageID: "inv-" + uid, From: "Sam Rivera <sam@example.com>", To: email, Subject: "Invitation", Calendar: []byte("x"),
			CalendarMethod: "REQUEST"}); err != nil {
			return err
		}
		return tx.SetAskState(ctx, a.ID, store.AskScheduled, "", "")
	})
	return a, iv
}

func mailFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "inbox", "testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// applyCal stores raw as an incoming message of a and hands its calendar
// (nil when it does not parse) to ApplyCalendarTx.
func (e *calEnv) applyCal(a *store.Ask, raw []byte) *store.Message {
	e.t.Helper()
	r, err := inbox.Read(raw, inbox.ReadOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	in := e.received(a, r.From.String(), raw)
	cal, _ := calendar.Parse(r.Calendar)
	e.update(func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.Ask(ctx, a.ID)
		if err != nil {
			return err
		}
		return e.o.ApplyCalendarTx(ctx, tx, *cur, *in, cal)
	})
	return in
}

func TestReplyFromGoogleOutlookApple(t *testing.T) {
	cases := []struct {
		file, name, email, uid string
		start                  time.Time
		status, askState       string
	}{
		{"061-google-imip-reply-accepted.eml", "Jane Doe", "jane.doe@acme.example", "cc-20261201-3f9a7c1e@example.com", calSlots[1], store.InterviewAccepted, store.AskScheduled},
		{"062-outlook-imip-reply-declined.eml", "Karen White", "kwhite@globalbev.example", "cc-20261201-44b27c1e@example.com", calSlots[0], store.InterviewDeclined, store.AskAgreed},
		{"063-apple-imip-reply-tentative.eml", "Sofia Rossi", "sofia.rossi@me.example", "cc-20261201-77c17c1e@example.com", calSlots[1], store.InterviewTentative, store.AskScheduled},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			e := newCalEnv(t, "")
			a, iv := e.scheduled(tc.name, tc.email, tc.uid, tc.start)
			e.applyCal(a, mailFixture(t, tc.file))
			var got *store.Interview
			e.view(func(ctx context.Context, tx *store.Tx) (err error) { got, err = tx.Interview(ctx, iv.ID); return })
			if got.Status != tc.status || got.SyncedSeq != -1 {
				t.Errorf("interview status %s (synced %d), want %s and marked for the calendar sync; timeline:\n%s", got.Status, got.SyncedSeq, tc.status, e.timeline(a.ID))
			}
			if s := e.ask(a.ID).State; s != tc.askState {
				t.Errorf("ask state %s, want %s", s, tc.askState)
			}
			if tc.status == store.InterviewDeclined && len(e.items(ReviewPickTime)) != 1 {
				t.Errorf("a declined invite should ask the user to pick another time")
			}
		})
	}
}

func TestReplyStaleSequenceNotApplied(t *testing.T) {
	e := newCalEnv(t, "")
	a, iv := e.scheduled("Jane Doe", "jane.doe@acme.example", "cc-20261201-3f9a7c1e@example.com", calSlots[1])
	e.update(func(ctx context.Context, tx *store.Tx) error { iv.Sequence = 1; return tx.SaveInterview(ctx, iv) })
	e.applyCal(a, mailFixture(t, "061-google-imip-reply-accepted.eml")) // SEQUENCE 0
	if got := e.interviewOf(a.ID); got.Status != store.InterviewInvited {
		t.Errorf("status %s, want invited (the reply answered an older version)", got.Status)
	}
	if tl := e.timeline(a.ID); !strings.Contains(tl, "older version") {
		t.Errorf("timeline does not note the stale reply:\n%s", tl)
	}
}

func TestReplyFromSomeoneNotInvited(t *testing.T) {
	e := newCalEnv(t, "")
	// The interview's person is not the fixture's attendee.
	a, _ := e.scheduled("Jane Doe", "jane@other.example", "cc-20261201-3f9a7c1e@example.com", calSlots[1])
	raw := bytes.Replace(mailFixture(t, "061-google-imip-reply-accepted.eml"), []byte("From: Jane Doe <jane.doe@acme.example>"), []byte("From: Eve <eve@evil.example>"), 1)
	e.applyCal(a, raw)
	if got := e.interviewOf(a.ID); got.Status != store.InterviewInvited {
		t.Errorf("status %s, want invited: a reply for an attendee who was not invited is not applied", got.Status)
	}
	if len(e.items(ReviewBadCalendar)) != 1 {
		t.Errorf("want a bad_calendar review item")
	}
}

func TestCounterBecomesReviewAndApproveMoves(t *testing.T) {
	e := newCalEnv(t, "")
	a, iv := e.scheduled("Bill Turner", "bturner@metroleague.example", "cc-20261201-88d37c1e@example.com", calSlots[0])
	e.applyCal(a, mailFixture(t, "064-outlook-imip-counter.eml"))
	items := e.items(ReviewCounter)
	if len(items) != 1 {
		t.Fatalf("counter items %+v; timeline:\n%s", items, e.timeline(a.ID))
	}
	if got := e.interviewOf(a.ID); !got.Start.Equal(iv.Start) {
		t.Fatalf("a COUNTER moved the interview by itself")
	}
	if _, err := e.o.Approve(context.Background(), []string{fmt.Sprintf("r%d", items[0].ID)}, false); err != nil {
		t.Fatal(err)
	}
	got := e.interviewOf(a.ID)
	want := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	if !got.Start.Equal(want) || got.Sequence != 1 || got.UID != iv.UID {
		t.Errorf("after approve: %+v, want moved to %v with SEQUENCE 1 and the same UID", got, want)
	}
}

// TestCounterLongerApproveKeepsItsLength: a COUNTER that also changes the
// length (09:00–10:00 Pacific instead of 30 minutes) moves the interview to
// exactly what they proposed once approved.
func TestCounterLongerApproveKeepsItsLength(t *testing.T) {
	e := newCalEnv(t, "")
	a, iv := e.scheduled("Bill Turner", "bturner@metroleague.example", "cc-20261201-88d37c1e@example.com", calSlots[0])
	ics := strings.Join([]string{"BEGIN:VCALENDAR", "PRODID:Microsoft Exchange Server 2010", "VERSION:2.0", "METHOD:COUNTER",
		"BEGIN:VEVENT", "DTSTART:20261207T170000Z", "DTEND:20261207T180000Z", "DTSTAMP:20261201T174210Z",
		"ORGANIZER;CN=Sam Rivera:mailto:sam@example.com", "UID:" + iv.UID,
		"ATTENDEE;PARTSTAT=TENTATIVE;CN=Bill Turner:mailto:bturner@metroleague.example",
		"COMMENT:An hour on Monday?", "SEQUENCE:0", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	raw := "From: Bill Turner <bturner@metroleague.example>\r\nTo: Sam Rivera <sam@example.com>\r\n" +
		"Subject: New Time Proposed: Coffee chat\r\nDate: Tue, 01 Dec 2026 09:42:10 -0800\r\n" +
		"Message-ID: <counter-longer@metroleague.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/calendar; method=COUNTER; charset=utf-8\r\n\r\n" + ics
	e.applyCal(a, []byte(raw))
	items := e.items(ReviewCounter)
	if len(items) != 1 {
		t.Fatalf("counter items %+v; timeline:\n%s", items, e.timeline(a.ID))
	}
	if _, err := e.o.Approve(context.Background(), []string{fmt.Sprintf("r%d", items[0].ID)}, false); err != nil {
		t.Fatal(err)
	}
	got := e.interviewOf(a.ID)
	start, end := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	if !got.Start.Equal(start) || !got.End.Equal(end) || got.Sequence != 1 {
		t.Errorf("after approve: %v–%v SEQUENCE %d, want %v–%v SEQUENCE 1", got.Start, got.End, got.Sequence, start, end)
	}
}

func TestTheirRequestIsLinkedAndOursNotSent(t *testing.T) {
	e := newCalEnv(t, "[calendar]\nauto_invite = false\n")
	a := e.askOf("Omar Haddad", "omar.haddad@gmail.com")
	e.agree(a, e.received(a, "omar.haddad@gmail.com", nil), calSlots[0])
	ours := e.interviewOf(a.ID)
	e.applyCal(a, mailFixture(t, "065-google-imip-request-from-person.eml"))

	iv := e.interviewOf(a.ID)
	if iv.UID != "5o3m2k1j0h9g8f7e6d5c4b3a2z@google.com" || iv.Organizer != store.OrganizerThem || !iv.Start.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("interview = %+v, want theirs linked", iv)
	}
	for _, m := range e.outgoing(a.ID) {
		if m.State != store.MsgStale {
			t.Errorf("our invite %d is %s, want stale (never sent)", m.ID, m.State)
		}
	}
	var old *store.Interview
	e.view(func(ctx context.Context, tx *store.Tx) (err error) { old, err = tx.Interview(ctx, ours.ID); return })
	if old.Status != store.InterviewCancelled {
		t.Errorf("our unsent interview is %s, want cancelled", old.Status)
	}
	if s := e.ask(a.ID).State; s != store.AskScheduled {
		t.Errorf("ask %s, want scheduled", s)
	}
}

func TestTheirCancel(t *testing.T) {
	e := newCalEnv(t, "")
	a := e.askOf("Lena Vogel", "lena.vogel@firma.example")
	req, err := os.ReadFile("../calendar/testdata/request_from_other.ics")
	if err != nil {
		t.Fatal(err)
	}
	in := e.received(a, "Lena Vogel <lena.vogel@firma.example>", nil)
	cal, err := calendar.Parse(req)
	if err != nil {
		t.Fatal(err)
	}
	e.update(func(ctx context.Context, tx *store.Tx) error { return e.o.ApplyCalendarTx(ctx, tx, *a, *in, cal) })
	iv := e.interviewOf(a.ID)
	cancel, err := os.ReadFile("../calendar/testdata/cancel.ics")
	if err != nil {
		t.Fatal(err)
	}
	cal, err = calendar.Parse(cancel)
	if err != nil {
		t.Fatal(err)
	}
	in2 := e.received(a, "Lena Vogel <lena.vogel@firma.example>", nil)
	e.update(func(ctx context.Context, tx *store.Tx) error {
		cur, _ := tx.Ask(ctx, a.ID)
		return e.o.ApplyCalendarTx(ctx, tx, *cur, *in2, cal)
	})
	var got *store.Interview
	e.view(func(ctx context.Context, tx *store.Tx) (err error) { got, err = tx.Interview(ctx, iv.ID); return })
	if got.Status != store.InterviewCancelled || got.Sequence != 2 {
		t.Errorf("interview %+v, want cancelled at SEQUENCE 2", got)
	}
	if s := e.ask(a.ID).State; s != store.AskClosed {
		t.Errorf("ask %s, want closed", s)
	}
}

func TestMalformedCalendarIsReviewed(t *testing.T) {
	e := newCalEnv(t, "")
	a, iv := e.scheduled("Jane Doe", "jane.doe@acme.example", "cc-20261201-3f9a7c1e@example.com", calSlots[1])
	raw := mailFixture(t, "061-google-imip-reply-accepted.eml")
	// Cut the calendar: the base64 part still decodes, the .ics is truncated.
	r, err := inbox.Read(raw, inbox.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	broken := r.Calendar[:len(r.Calendar)/2]
	in := e.received(a, "Jane Doe <jane.doe@acme.example>", nil)
	in.Calendar = broken
	e.update(func(ctx context.Context, tx *store.Tx) error { return tx.SaveMessage(ctx, in) })
	e.update(func(ctx context.Context, tx *store.Tx) error { return e.o.ApplyCalendarTx(ctx, tx, *a, *in, nil) })
	items := e.items(ReviewBadCalendar)
	if len(items) != 1 || !strings.Contains(items[0].Summary, "truncated") || items[0].MessageID != in.ID {
		t.Fatalf("bad_calendar items = %+v, want one naming the reason and the message", items)
	}
	if got := e.interviewOf(a.ID); got.Status != iv.Status {
		t.Errorf("interview changed to %s", got.Status)
	}
}

func TestMoveAndCancel(t *testing.T) {
	e := newCalEnv(t, "")
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	e.agree(a, e.received(a, "Jane Doe <jane.doe@acme.example>", nil), calSlots[1])
	iv := e.interviewOf(a.ID)
	// The invite leaves.
	inv := e.outgoing(a.ID)[0]
	e.update(func(ctx context.Context, tx *store.Tx) error {
		return tx.SetMessageState(ctx, inv.ID, store.MsgSent)
	})

	to := pst("2026-12-08 14:00")
	s, err := e.o.MoveInterview(context.Background(), iv.ID, to)
	if err != nil {
		t.Fatal(err)
	}
	if s.Interview.UID != iv.UID || s.Interview.Sequence != 1 || !s.Interview.Start.Equal(to) {
		t.Errorf("moved = %+v", s.Interview)
	}
	m := s.Message
	if m.Purpose != store.PurposeInviteUpdate || m.CalendarMethod != "REQUEST" || !m.Auto || m.InReplyTo != inv.MessageID {
		t.Errorf("update message %s %s auto=%v in-reply-to %q", m.Purpose, m.CalendarMethod, m.Auto, m.InReplyTo)
	}
	c, err := composeStored(m, calNow)
	if err != nil {
		t.Fatal(err)
	}
	shape, bodies := mimeShape(t, c.Raw)
	if shape != wantInviteShape {
		t.Errorf("update MIME tree %s", shape)
	}
	cal, err := calendar.Parse(bodies["text/calendar"])
	if err != nil {
		t.Fatal(err)
	}
	ev := cal.Events[0]
	if ev.UID != iv.UID || ev.Sequence != 1 || !ev.Start.Equal(to) || !ev.Stamp.Equal(calNow) {
		t.Errorf("update event %+v", ev)
	}
	if !strings.Contains(string(bodies["text/plain"]), "moved our conversation") {
		t.Errorf("update text lacks the note:\n%s", bodies["text/plain"])
	}
	if _, err := e.o.MoveInterview(context.Background(), iv.ID, pst("2026-11-29 10:00")); err == nil {
		t.Error("a move into the past was accepted")
	}

	e.update(func(ctx context.Context, tx *store.Tx) error { return tx.SetMessageState(ctx, m.ID, store.MsgSent) })
	s, err = e.o.CancelInterview(context.Background(), iv.ID, "Something came up.")
	if err != nil {
		t.Fatal(err)
	}
	if s.Interview.Sequence != 2 || s.Interview.Status != store.InterviewCancelled || s.Message == nil {
		t.Fatalf("cancel = %+v", s)
	}
	c, err = composeStored(s.Message, calNow)
	if err != nil {
		t.Fatal(err)
	}
	shape, bodies = mimeShape(t, c.Raw)
	if want := strings.ReplaceAll(wantInviteShape, "REQUEST", "CANCEL"); shape != want {
		t.Errorf("cancel MIME tree %s, want %s", shape, want)
	}
	cal, err = calendar.Parse(bodies["text/calendar"])
	if err != nil {
		t.Fatal(err)
	}
	if ev := cal.Events[0]; cal.Method != "CANCEL" || ev.Status != "CANCELLED" || ev.UID != iv.UID || ev.Sequence != 2 {
		t.Errorf("cancel = %s %+v", cal.Method, ev)
	}
	if st := e.ask(a.ID).State; st != store.AskClosed {
		t.Errorf("ask %s after cancel, want closed", st)
	}
}

func TestCancelBeforeTheInviteLeftSendsNothing(t *testing.T) {
	e := newCalEnv(t, "")
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	e.agree(a, e.received(a, "jane.doe@acme.example", nil), calSlots[1])
	s, err := e.o.CancelInterview(context.Background(), e.interviewOf(a.ID).ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Message != nil {
		t.Errorf("a cancellation was queued for an invite that never left")
	}
	for _, m := range e.outgoing(a.ID) {
		if m.State != store.MsgStale {
			t.Errorf("message %d (%s) is %s, want stale", m.ID, m.Purpose, m.State)
		}
	}
}

func TestParseTime(t *testing.T) {
	loc, _ := time.LoadLocation("America/Los_Angeles")
	good := map[string]time.Time{
		"2026-12-08 14:00":          pst("2026-12-08 14:00"),
		"2026-12-08T14:00":          pst("2026-12-08 14:00"),
		"2026-12-08T14:00:00-05:00": time.Date(2026, 12, 8, 19, 0, 0, 0, time.UTC),
	}
	for in, want := range good {
		if got, err := ParseTime(in, loc); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"tomorrow", "2026-03-08 02:30", ""} { // 02:30 is skipped by DST in LA
		if _, err := ParseTime(in, loc); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
}

// ownView is how calendar.Parse reads data, in the cross-check's terms.
func ownView(t *testing.T, data []byte) calendartest.View {
	t.Helper()
	cal, err := calendar.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Events) == 0 {
		t.Fatal("no event")
	}
	ev := cal.Events[0]
	v := calendartest.View{Method: cal.Method, UID: ev.UID, Start: ev.Start.UTC().Format(time.RFC3339), End: ev.End.UTC().Format(time.RFC3339),
		Organizer: ev.Organizer.Email, Sequence: ev.Sequence, Status: ev.Status, Summary: ev.Summary}
	for _, a := range ev.Attendees {
		v.Attendees = append(v.Attendees, calendartest.Partner{Email: a.Email, PartStat: a.PartStat, CN: a.Name})
	}
	return v
}

// TestWorkflowCalendarsCrossChecked has python-icalendar and ical.js read
// the invite, the update and the cancel that the workflow queues, taken from
// the composed message (both the text/calendar part and invite.ics), and
// checks that they, and calendar.Parse, read the same UID, times,
// organizer, attendee, method and sequence. COFFEECHAT_XCHECK=1 runs it.
func TestWorkflowCalendarsCrossChecked(t *testing.T) {
	calendartest.Require(t)
	e := newCalEnv(t, "")
	a := e.askOf("Ünal, Ayşe", "ayse@acme.example")
	e.agree(a, e.received(a, "Ayşe Ünal <ayse@acme.example>", nil), calSlots[1])
	iv := e.interviewOf(a.ID)
	sent := func(m *store.Message) {
		e.update(func(ctx context.Context, tx *store.Tx) error { return tx.SetMessageState(ctx, m.ID, store.MsgSent) })
	}
	invite := e.outgoing(a.ID)[0]
	sent(invite)
	moveTo := pst("2026-12-08 14:00")
	mv, err := e.o.MoveInterview(context.Background(), iv.ID, moveTo)
	if err != nil {
		t.Fatal(err)
	}
	sent(mv.Message)
	cn, err := e.o.CancelInterview(context.Background(), iv.ID, "Something came up.")
	if err != nil {
		t.Fatal(err)
	}
	view := func(method, status string, seq int, start time.Time) calendartest.View {
		return calendartest.View{Method: method, UID: iv.UID, Start: start.UTC().Format(time.RFC3339), End: start.Add(30 * time.Minute).UTC().Format(time.RFC3339),
			Organizer: "sam@example.com", Sequence: seq, Status: status, Summary: "Sam Rivera / Ünal, Ayşe",
			Attendees: []calendartest.Partner{{Email: "ayse@acme.example", PartStat: calendar.PartNeedsAction, CN: "Ünal, Ayşe"}}}
	}
	var cases []calendartest.Case
	for _, c := range []struct {
		name string
		m    *store.Message
		want calendartest.View
	}{
		{"invite", invite, view(calendar.MethodRequest, calendar.StatusConfirmed, 0, calSlots[1])},
		{"update", mv.Message, view(calendar.MethodRequest, calendar.StatusConfirmed, 1, moveTo)},
		{"cancel", cn.Message, view(calendar.MethodCancel, calendar.StatusCancelled, 2, moveTo)},
	} {
		composed, err := composeStored(c.m, calNow)
		if err != nil {
			t.Fatal(err)
		}
		_, bodies := mimeShape(t, composed.Raw)
		for _, part := range []string{"text/calendar", "application/ics"} {
			if len(bodies[part]) == 0 {
				t.Fatalf("%s has no %s part", c.name, part)
			}
			if own := ownView(t, bodies[part]); !reflect.DeepEqual(own, c.want) {
				t.Errorf("calendar.Parse reads the %s's %s as\n  %+v\nwant\n  %+v", c.name, part, own, c.want)
			}
			cases = append(cases, calendartest.Case{Name: c.name + " " + part, Data: bodies[part], Want: c.want})
		}
	}
	calendartest.Check(t, cases...)
}

// TestZoneInReplyWinsThroughToTheInvite follows a reply that names its own
// zone ("Friday at 1pm ET", the account being in Los Angeles) from the
// inbox to the invite: the interview and the invite's DTSTART are 1pm in New
// York (18:00 UTC), not 1pm in Los Angeles (21:00 UTC).
func TestZoneInReplyWinsThroughToTheInvite(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	raw := []byte("From: Jane Doe <jane.doe@acme.example>\r\n" +
		"To: Sam Rivera <sam@example.com>\r\n" +
		"Subject: Re: " + fixSubject + "\r\n" +
		"Date: Mon, 30 Nov 2026 15:10:00 -0500\r\n" +
		"Message-ID: <zone.reply.1@acme.example>\r\n" +
		"In-Reply-To: <" + fixAskID + ">\r\n" +
		"References: <" + fixAskID + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hi Sam,\r\n\r\nHappy to help. Friday at 1pm ET works for me.\r\n\r\nJane\r\n")
	e.apply(1, raw)

	want := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC) // Fri 4 Dec 13:00 EST = 10:00 PST
	if got := e.ask(a.ID); got.State != store.AskScheduled {
		t.Fatalf("ask is %s, want scheduled; timeline:\n%s", got.State, e.timeline(a.ID))
	}
	iv := e.interview(a.ID)
	if !iv.Start.Equal(want) {
		t.Errorf("interview starts %v, want %v (1pm ET)", iv.Start, want)
	}
	var ms []*store.Message
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) {
		ms, err = tx.Messages(context.Background(), store.MessageFilter{AskID: a.ID, Direction: store.Out})
		return
	}); err != nil {
		t.Fatal(err)
	}
	var invite *store.Message
	for _, m := range ms {
		if m.Purpose == store.PurposeInvite {
			invite = m
		}
	}
	if invite == nil {
		t.Fatalf("no invite among %d outgoing messages", len(ms))
	}
	c, err := composeStored(invite, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	_, bodies := mimeShape(t, c.Raw)
	if !strings.Contains(string(bodies["text/calendar"]), "DTSTART:20261204T180000Z") {
		t.Errorf("invite calendar lacks DTSTART:20261204T180000Z:\n%s", bodies["text/calendar"])
	}
	if text := string(bodies["text/plain"]); !strings.Contains(text, "10:00") || !strings.Contains(text, "18:00") {
		t.Errorf("invite text does not state 10:00 PST and 18:00 UTC:\n%s", text)
	}
}
