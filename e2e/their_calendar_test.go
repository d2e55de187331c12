package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/demo"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// TestTheirCalendarMailRig is the calendar messages a person sends, on real
// Postfix and Dovecot with the daemon a subprocess (outreach's
// TestCounterBecomesReviewAndApproveMoves, TestTheirRequestIsLinkedAndOursNotSent
// and TestTheirCancel are the same in-process).
//
// Priya (on Outlook) agrees to a proposed time, gets the invite, and
// proposes another time (iMIP COUNTER, Outlook's "Propose New Time"): the
// interview does not move by itself, a "counter" review item appears, and
// approving it sends her an update (METHOD:REQUEST, same UID, SEQUENCE 1, the
// countered time) and moves the interview in `interviews --json`.
//
// Tom (on Outlook) sends his own meeting, with a subject of its own and no
// threading header (he organizes it, Sam attends, in his Windows time
// zone): it is matched to his ask by its organizer, linked as the ask's
// interview, organizer "them", the ask
// scheduled, coffeechat sends no invite of its own, and the user's calendar
// gets his event. Then he cancels it (METHOD:CANCEL, same UID, SEQUENCE 1):
// the interview is cancelled, the ask closed, the user's copy CANCELLED.
func TestTheirCalendarMailRig(t *testing.T) {
	w := newWorld(t)
	s := w.story
	s.Priya.Email, s.Priya.Client = w.rig.User(t, "priya"), demo.Outlook
	s.Tom.Email = w.rig.User(t, "tom")
	w.people = append(w.people, s.Priya, s.Tom)
	me := s.Me
	icsDir := calendar.Dir{Path: filepath.Join(w.dir, "calendar")}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.start()

	// Both asks, approved and sent.
	topics := map[string]string{s.Priya.Email: "product design", s.Tom.Email: "data analysis"}
	for _, p := range []demo.Person{s.Priya, s.Tom} {
		if _, err := s.Run(ctx, "contact", "add", p.Name, "--email", p.Email, "--org", p.Org, "--role", p.Role); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(ctx, "ask", "interview", "--to", p.Email, "--topic", topics[p.Email]); err != nil {
			t.Fatal(err)
		}
		d, err := s.Draft(ctx, p, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Approve(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	priyaAsk, err := s.FindAsk(ctx, "interview", s.Priya)
	if err != nil {
		t.Fatal(err)
	}
	tomAsk, err := s.FindAsk(ctx, "interview", s.Tom)
	if err != nil {
		t.Fatal(err)
	}
	fromMeNoCalendar := func(_ []byte, m *inbox.Message) bool {
		return strings.EqualFold(m.From.Address, me.Email) && len(m.Calendar) == 0
	}

	// 1. Priya agrees, gets the invite, and proposes another time.
	request, err := s.Receive(ctx, s.Priya, "the interview request", fromMeNoCalendar)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Answer(ctx, s.Priya, request, demo.Reply{Text: "Hi Sam,\n\nHappy to help! The first one works for me.\n\nTalk then,"}); err != nil {
		t.Fatal(err)
	}
	invite := w.receiveCalendar(ctx, "invite", calendar.MethodRequest)
	ev := invite.ev
	before := w.interview(ctx, ev.UID)
	if before.AskID != priyaAsk || before.Organizer != store.OrganizerUs || before.Sequence != 0 || !before.Start.Equal(ev.Start) {
		t.Fatalf("before the counter, `interviews --json` has %+v; want ask %d organized by us at %v, SEQUENCE 0", before, priyaAsk, ev.Start)
	}
	proposed := store.Slot{Start: ev.Start.Add(24 * time.Hour), End: ev.End.Add(24 * time.Hour)}
	counter := theirCounter(s.Priya, me, ev, proposed, "Something came up that day. Could we do the same time the day after?", s.Clock.Now())
	if err := s.Mail.Send(ctx, s.Priya.Email, counter); err != nil {
		t.Fatal(err)
	}
	item := w.reviewItem(ctx, priyaAsk, outreach.ReviewCounter)
	if want := outreach.FormatSlot(proposed, s.Zone); !strings.Contains(item.Summary, want) {
		t.Errorf("the counter item says %q; want it to name the proposed time %s", item.Summary, want)
	}
	if r := w.interview(ctx, ev.UID); !r.Start.Equal(ev.Start) || !r.End.Equal(ev.End) || r.Sequence != 0 {
		t.Fatalf("the COUNTER moved the interview by itself: %+v, want it still at %v, SEQUENCE 0", r, ev.Start)
	}
	if _, err := s.Run(ctx, "approve", item.ID); err != nil {
		t.Fatal(err)
	}
	update := w.receiveCalendar(ctx, "update", calendar.MethodRequest)
	if u := update.ev; u.UID != ev.UID || u.Sequence != 1 || !u.Start.Equal(proposed.Start) || !u.End.Equal(proposed.End) ||
		!strings.EqualFold(u.Organizer.Email, me.Email) {
		t.Errorf("update UID %s SEQUENCE %d %v–%v ORGANIZER %s; want UID %s SEQUENCE 1 %v–%v from %s",
			u.UID, u.Sequence, u.Start, u.End, u.Organizer.Email, ev.UID, proposed.Start, proposed.End, me.Email)
	}
	if a, ok := update.ev.Attendee(s.Priya.Email); !ok || len(update.ev.Attendees) != 1 {
		t.Errorf("update attendees %+v, want %s only", update.ev.Attendees, s.Priya.Email)
	} else if a.PartStat != calendar.PartNeedsAction {
		t.Errorf("update: Priya's PARTSTAT %s, want NEEDS-ACTION (a new time asks her again)", a.PartStat)
	}
	w.waitFor(ctx, "the countered time in `interviews --json` and on the user's calendar", func() bool {
		r := w.interview(ctx, ev.UID)
		return r.Start.Equal(proposed.Start) && r.End.Equal(proposed.End) && r.Sequence == 1 && r.Synced &&
			userCopyIs(icsDir, ev.UID, s.Priya.Email, calendar.StatusConfirmed, "", 1)
	})
	if w.openReview(ctx, item.ID) {
		t.Errorf("review item %s is still open after `approve %s`", item.ID, item.ID)
	}

	// 2. Tom gets the interview request and answers with his own meeting,
	// then cancels it.
	if _, err := s.Receive(ctx, s.Tom, "the interview request", fromMeNoCalendar); err != nil {
		t.Fatal(err)
	}
	pacific, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	day := s.Clock.Now().In(pacific).AddDate(0, 0, 5)
	theirs := theirMeeting{
		uid:     "040000008200E00074C5B7101A82E00800000000" + strings.ToUpper(randHex(16)),
		start:   time.Date(day.Year(), day.Month(), day.Day(), 16, 15, 0, 0, pacific),
		minutes: 30,
		summary: "Coffee with Sam Rivera", // not the thread's subject: matched by its organizer
		where:   "Microsoft Teams Meeting",
	}
	if err := s.Mail.Send(ctx, s.Tom.Email, theirInvite(s.Tom, me, theirs, s.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	w.waitFor(ctx, "Tom's invitation linked in `interviews --json`", func() bool {
		return w.interview(ctx, theirs.uid).ID != 0
	})
	r := w.interview(ctx, theirs.uid)
	if r.AskID != tomAsk || r.Organizer != store.OrganizerThem || r.Status != store.InterviewInvited || r.Sequence != 0 ||
		!r.Start.Equal(theirs.start) || !r.End.Equal(theirs.end()) || !strings.EqualFold(r.Email, s.Tom.Email) {
		t.Errorf("their invitation reads %+v; want ask %d, organizer them, invited, SEQUENCE 0, %v–%v, %s",
			r, tomAsk, theirs.start, theirs.end(), s.Tom.Email)
	}
	if err := s.AskState(ctx, tomAsk, store.AskScheduled); err != nil {
		t.Fatal(err)
	}
	w.waitFor(ctx, "Tom's event on the user's calendar", func() bool {
		return w.interview(ctx, theirs.uid).Synced && userCopyIs(icsDir, theirs.uid, me.Email, calendar.StatusConfirmed, "", 0)
	})
	if copyEv := icsEvent(t, icsDir, theirs.uid); !strings.EqualFold(copyEv.Organizer.Email, s.Tom.Email) || !copyEv.Start.Equal(theirs.start) {
		t.Errorf("the user's copy of Tom's event: ORGANIZER %s at %v; want %s at %v", copyEv.Organizer.Email, copyEv.Start, s.Tom.Email, theirs.start)
	}

	if err := s.Mail.Send(ctx, s.Tom.Email, theirCancel(s.Tom, me, theirs, 1, s.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	w.waitFor(ctx, "Tom's cancel in `interviews --json` and on the user's calendar", func() bool {
		r := w.interview(ctx, theirs.uid)
		return r.Status == store.InterviewCancelled && r.Sequence == 1 && r.Synced &&
			userCopyIs(icsDir, theirs.uid, me.Email, calendar.StatusCancelled, "", 1)
	})
	if err := s.AskState(ctx, tomAsk, store.AskClosed); err != nil {
		t.Fatal(err)
	}

	// Tom's meeting was the only one for his ask: coffeechat never sent him
	// an invitation of its own, nor anything after his cancel.
	rows := w.interviews(ctx)
	for _, r := range rows {
		if r.AskID == tomAsk && r.UID != theirs.uid {
			t.Errorf("ask %d has another interview besides Tom's: %+v", tomAsk, r)
		}
	}
	msgs, err := s.Mail.Inbox(ctx, s.Tom.Email)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range msgs {
		if m, err := inbox.Read(raw, inbox.ReadOptions{}); err == nil && m.CalendarMethod != "" {
			t.Errorf("Tom received a calendar message (%s, %q): coffeechat should leave his meeting to him", m.CalendarMethod, m.Subject)
		}
	}
	w.checkNoDuplicates(ctx)
}

// reviewItem waits for an open review item of kind on ask and returns it.
func (w *world) reviewItem(ctx context.Context, ask int64, kind string) demo.QueueItem {
	w.t.Helper()
	var found demo.QueueItem
	w.waitFor(ctx, fmt.Sprintf("a %s review item for ask %d in `queue --json`", kind, ask), func() bool {
		items, err := w.story.Queue(ctx)
		if err != nil {
			return false
		}
		for _, it := range items {
			if it.Type == "review" && it.AskID == ask && it.Purpose == kind {
				found = it
				return true
			}
		}
		return false
	})
	return found
}

// openReview reports whether queue item id is still in `queue --json`.
func (w *world) openReview(ctx context.Context, id string) bool {
	items, err := w.story.Queue(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == id {
			return true
		}
	}
	return false
}

// interviews is `interviews --json`.
func (w *world) interviews(ctx context.Context) []outreach.InterviewRow {
	var rows []outreach.InterviewRow
	out, err := w.cli(ctx, "interviews", "--json")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		w.t.Fatalf("interviews --json: %v\n%s", err, out)
	}
	return rows
}

// icsEvent is the user's copy of uid in ics_dir.
func icsEvent(t *testing.T, dir calendar.Dir, uid string) calendar.Event {
	t.Helper()
	data, err := os.ReadFile(dir.File(uid))
	if err != nil {
		t.Fatal(err)
	}
	cal := mustParse(t, data)
	if len(cal.Events) != 1 {
		t.Fatalf("%s holds %d events, want 1", dir.File(uid), len(cal.Events))
	}
	return cal.Events[0]
}

// theirMeeting is a meeting a person organizes in Outlook, in their own
// Windows time zone.
type theirMeeting struct {
	uid     string
	start   time.Time // in America/Los_Angeles: written as "Pacific Standard Time"
	minutes int
	summary string
	where   string
}

func (m theirMeeting) end() time.Time { return m.start.Add(time.Duration(m.minutes) * time.Minute) }

// outlookPacific is the VTIMEZONE Exchange writes for "Pacific Standard Time".
const outlookPacific = "BEGIN:VTIMEZONE\r\nTZID:Pacific Standard Time\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0700\r\nTZOFFSETTO:-0800\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0800\r\nTZOFFSETTO:-0700\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n"

// theirCounter is the iMIP COUNTER Outlook sends for "Propose New Time" on
// the user's invitation inv (as inbox/testdata/mail/064-outlook-imip-counter.eml):
// the attendee proposes to, TENTATIVE, with a comment.
func theirCounter(p, organizer demo.Person, inv calendar.Event, to store.Slot, comment string, at time.Time) []byte {
	ics := icsLines(
		"BEGIN:VCALENDAR",
		"PRODID:Microsoft Exchange Server 2010",
		"VERSION:2.0",
		"CALSCALE:GREGORIAN",
		"METHOD:COUNTER",
		"BEGIN:VEVENT",
		"DTSTART:"+icsUTC(to.Start),
		"DTEND:"+icsUTC(to.End),
		"DTSTAMP:"+icsUTC(at),
		fmt.Sprintf("ORGANIZER;CN=%s:mailto:%s", inv.Organizer.Name, inv.Organizer.Email),
		"UID:"+inv.UID,
		fmt.Sprintf("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE;CN=%s;X-NUM-GUESTS=0:mailto:%s", p.Name, p.Email),
		"COMMENT;LANGUAGE=en-US:"+icsEscape(comment),
		fmt.Sprintf("SEQUENCE:%d", inv.Sequence),
		"STATUS:CONFIRMED",
		"SUMMARY:"+icsEscape(inv.Summary),
		"TRANSP:OPAQUE",
		"END:VEVENT",
		"END:VCALENDAR",
	)
	return outlookCalendarMail(p, organizer, "New Time Proposed: "+inv.Summary, inv.Summary, comment+"\n", "COUNTER", ics, at)
}

// theirInvite is the meeting request Outlook sends for a person's own
// meeting, with them as ORGANIZER and the user as the attendee, its times in
// their Windows zone (the way calendar/testdata/request_from_other.ics has
// TZID), the meeting's summary as the subject.
func theirInvite(p, user demo.Person, m theirMeeting, at time.Time) []byte {
	ics := icsLines(
		"BEGIN:VCALENDAR",
		"METHOD:REQUEST",
		"PRODID:Microsoft Exchange Server 2010",
		"VERSION:2.0",
		strings.TrimSuffix(outlookPacific, "\r\n"),
		"BEGIN:VEVENT",
		fmt.Sprintf("ORGANIZER;CN=%s:mailto:%s", p.Name, p.Email),
		fmt.Sprintf("ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=%s:mailto:%s", user.Name, user.Email),
		"DESCRIPTION;LANGUAGE=en-US:Happy to chat — here is a slot that works for me.\\n",
		"UID:"+m.uid,
		"SUMMARY;LANGUAGE=en-US:"+icsEscape(m.summary),
		"DTSTART;TZID=Pacific Standard Time:"+m.start.Format("20060102T150405"),
		"DTEND;TZID=Pacific Standard Time:"+m.end().Format("20060102T150405"),
		"CLASS:PUBLIC",
		"PRIORITY:5",
		"DTSTAMP:"+icsUTC(at),
		"TRANSP:OPAQUE",
		"STATUS:CONFIRMED",
		"SEQUENCE:0",
		"LOCATION;LANGUAGE=en-US:"+icsEscape(m.where),
		"X-MICROSOFT-CDO-APPT-SEQUENCE:0",
		"X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE",
		"X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY",
		"X-MICROSOFT-CDO-IMPORTANCE:1",
		"BEGIN:VALARM",
		"DESCRIPTION:REMINDER",
		"TRIGGER;RELATED=START:-PT15M",
		"ACTION:DISPLAY",
		"END:VALARM",
		"END:VEVENT",
		"END:VCALENDAR",
	)
	text := "Happy to chat — here is a slot that works for me.\n\n" + m.where + "\n"
	return outlookCalendarMail(p, user, m.summary, m.summary, text, "REQUEST", ics, at)
}

// theirCancel is Outlook's cancellation of a person's own meeting
// (METHOD:CANCEL, STATUS:CANCELLED, a higher SEQUENCE, as
// calendar/testdata/cancel.ics).
func theirCancel(p, user demo.Person, m theirMeeting, seq int, at time.Time) []byte {
	ics := icsLines(
		"BEGIN:VCALENDAR",
		"METHOD:CANCEL",
		"PRODID:Microsoft Exchange Server 2010",
		"VERSION:2.0",
		strings.TrimSuffix(outlookPacific, "\r\n"),
		"BEGIN:VEVENT",
		fmt.Sprintf("ORGANIZER;CN=%s:mailto:%s", p.Name, p.Email),
		fmt.Sprintf("ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=%s:mailto:%s", user.Name, user.Email),
		"DESCRIPTION;LANGUAGE=en-US:Sorry\\, I have to cancel.\\n",
		"UID:"+m.uid,
		"SUMMARY;LANGUAGE=en-US:Canceled: "+icsEscape(m.summary),
		"DTSTART;TZID=Pacific Standard Time:"+m.start.Format("20060102T150405"),
		"DTEND;TZID=Pacific Standard Time:"+m.end().Format("20060102T150405"),
		"CLASS:PUBLIC",
		"PRIORITY:1",
		"DTSTAMP:"+icsUTC(at),
		"TRANSP:TRANSPARENT",
		"STATUS:CANCELLED",
		fmt.Sprintf("SEQUENCE:%d", seq),
		"LOCATION;LANGUAGE=en-US:"+icsEscape(m.where),
		fmt.Sprintf("X-MICROSOFT-CDO-APPT-SEQUENCE:%d", seq),
		"X-MICROSOFT-CDO-BUSYSTATUS:FREE",
		"X-MICROSOFT-CDO-INTENDEDSTATUS:FREE",
		"END:VEVENT",
		"END:VCALENDAR",
	)
	return outlookCalendarMail(p, user, "Canceled: "+m.summary, m.summary, "Sorry, I have to cancel.\n", "CANCEL", ics, at)
}

// outlookCalendarMail wraps ics the way Outlook sends a calendar message
// (064-outlook-imip-counter.eml): multipart/alternative of a quoted-printable
// text/plain and a base64 text/calendar with the method, from p to whom.
func outlookCalendarMail(p, whom demo.Person, subject, topic, text, method, ics string, at time.Time) []byte {
	boundary := "_000_SJ0PR11MB" + strings.ToUpper(randHex(16)) + "namp_"
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("Thread-Topic", topic)
	header("Content-class", "urn:content-classes:calendarmessage")
	header("From", (&mail.Address{Name: p.Name, Address: p.Email}).String())
	header("Date", at.Format(time.RFC1123Z))
	header("Message-ID", "<SJ0PR11MB"+strings.ToUpper(randHex(20))+"@SJ0PR11MB6666.namprd11.prod.outlook.com>")
	header("Subject", subject)
	header("To", (&mail.Address{Name: whom.Name, Address: whom.Email}).String())
	header("Accept-Language", "en-US")
	header("Content-Language", "en-US")
	header("X-MS-Has-Attach", "")
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	var qp strings.Builder
	qw := quotedprintable.NewWriter(&qp)
	_, _ = qw.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	_ = qw.Close()
	b.WriteString(qp.String() + "\r\n\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/calendar; charset=\"utf-8\"; method=" + method + "\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(ics))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n\r\n--" + boundary + "--\r\n")
	return []byte(b.String())
}

// icsLines joins content lines with CRLF, folding each at 75 octets
// (RFC 5545 3.1) without cutting a UTF-8 sequence.
func icsLines(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		for _, s := range strings.Split(l, "\r\n") {
			for len(s) > 75 {
				cut := 75
				for cut > 1 && s[cut]&0xC0 == 0x80 {
					cut--
				}
				b.WriteString(s[:cut] + "\r\n ")
				s = s[cut:]
			}
			b.WriteString(s + "\r\n")
		}
	}
	return b.String()
}

func icsUTC(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func icsEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
