package calendar

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleEvent() Event {
	return Event{
		UID:         "k3j4h5g6@coffeechat.example.com",
		Sequence:    0,
		Stamp:       utc("2026-11-25T18:00:00Z"),
		Start:       utc("2026-12-02T22:00:00Z"),
		End:         utc("2026-12-02T22:30:00Z"),
		Summary:     "Coffee chat:\r\nSam / Jane\u2028(20 min)",
		Description: "Thanks for making time, Jane!\r\nLooking forward to it; see you then.\n\nSam",
		Location:    "Blue Bottle, 66 Mint St;\nSan Francisco",
		URL:         "https://meet.example.com/abc-defg-hij?pwd=x,y",
		Organizer:   Person{Name: `Sam "The" Rivera`, Email: "sam@example.com"},
		Attendees:   []Person{{Name: "Doe, Jane", Email: "jane.doe@gmail.com"}},
		Comment:     "Rescheduled at your request.",
	}
}

// unfold joins folded content lines.
func unfold(b []byte) string {
	return strings.ReplaceAll(string(b), "\r\n ", "")
}

func checkLines(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Errorf("output does not end in CRLF")
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line splits a UTF-8 sequence: %q", line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("bare CR or LF in %q", line)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	ev := sampleEvent()
	b, err := Request(ev)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	checkLines(t, b)
	raw := unfold(b)
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\n", "METHOD:REQUEST\r\n", "PRODID:" + ProdID + "\r\n", "VERSION:2.0\r\n",
		"UID:k3j4h5g6@coffeechat.example.com\r\n", "DTSTAMP:20261125T180000Z\r\n",
		"DTSTART:20261202T220000Z\r\n", "DTEND:20261202T223000Z\r\n", "SEQUENCE:0\r\n",
		"STATUS:CONFIRMED\r\n", "ORGANIZER;CN=Sam 'The' Rivera:mailto:sam@example.com\r\n",
		"ATTENDEE;CN=\"Doe, Jane\";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:jane.doe@gmail.com\r\n",
		"SUMMARY:Coffee chat: Sam / Jane (20 min)\r\n",
		"DESCRIPTION:Thanks for making time\\, Jane!\\nLooking forward to it\\; see you then.\\n\\nSam\r\n",
		"LOCATION:Blue Bottle\\, 66 Mint St\\; San Francisco\r\n",
		"URL:https://meet.example.com/abc-defg-hij?pwd=x,y\r\n",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("Request output lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "TZID") || strings.Contains(raw, "VTIMEZONE") {
		t.Errorf("Request output has zone data; times must be UTC:\n%s", raw)
	}

	msg, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Request): %v", err)
	}
	if msg.Method != MethodRequest || len(msg.Events) != 1 {
		t.Fatalf("Parse(Request) = method %q, %d events", msg.Method, len(msg.Events))
	}
	got := msg.Events[0]
	want := ev
	want.Summary = "Coffee chat: Sam / Jane (20 min)"
	want.Description = "Thanks for making time, Jane!\nLooking forward to it; see you then.\n\nSam"
	want.Location = "Blue Bottle, 66 Mint St; San Francisco"
	want.Status = StatusConfirmed
	want.Organizer = Person{Name: "Sam 'The' Rivera", Email: "sam@example.com"}
	want.Attendees = []Person{{Name: "Doe, Jane", Email: "jane.doe@gmail.com", PartStat: PartNeedsAction}}
	sameEvent(t, got, want)
}

func sameEvent(t *testing.T, got, want Event) {
	t.Helper()
	eq := func(name string, g, w any) {
		t.Helper()
		if g != w {
			t.Errorf("%s = %q, want %q", name, g, w)
		}
	}
	eq("UID", got.UID, want.UID)
	eq("Sequence", got.Sequence, want.Sequence)
	if !want.Stamp.IsZero() && !got.Stamp.Equal(want.Stamp) {
		t.Errorf("Stamp = %v, want %v", got.Stamp, want.Stamp)
	}
	if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
		t.Errorf("Start–End = %v–%v, want %v–%v", got.Start, got.End, want.Start, want.End)
	}
	eq("Summary", got.Summary, want.Summary)
	eq("Description", got.Description, want.Description)
	eq("Location", got.Location, want.Location)
	eq("URL", got.URL, want.URL)
	eq("Status", got.Status, want.Status)
	eq("Organizer", got.Organizer, want.Organizer)
	eq("RecurrenceID", got.RecurrenceID, want.RecurrenceID)
	eq("Comment", got.Comment, want.Comment)
	eq("AllDay", got.AllDay, want.AllDay)
	if len(got.Attendees) != len(want.Attendees) {
		t.Fatalf("Attendees = %+v, want %+v", got.Attendees, want.Attendees)
	}
	for i := range got.Attendees {
		eq("Attendee", got.Attendees[i], want.Attendees[i])
	}
}

func TestCancelRoundTrip(t *testing.T) {
	ev := sampleEvent()
	ev.Sequence = 2
	ev.Status = StatusConfirmed // Cancel overrides it
	ev.Attendees[0].PartStat = PartAccepted
	b, err := Cancel(ev)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	checkLines(t, b)
	raw := unfold(b)
	for _, want := range []string{"METHOD:CANCEL\r\n", "STATUS:CANCELLED\r\n", "SEQUENCE:2\r\n", "UID:" + ev.UID + "\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Cancel output lacks %q", want)
		}
	}
	if strings.Contains(raw, "RSVP=TRUE") {
		t.Errorf("Cancel asks for RSVP:\n%s", raw)
	}
	msg, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Cancel): %v", err)
	}
	if msg.Method != MethodCancel {
		t.Errorf("Method = %q, want CANCEL", msg.Method)
	}
	got := msg.Events[0]
	if got.Status != StatusCancelled || got.Sequence != 2 || got.UID != ev.UID {
		t.Errorf("Parse(Cancel) = status %q seq %d uid %q", got.Status, got.Sequence, got.UID)
	}
	if !got.Start.Equal(ev.Start) || got.Organizer.Email != "sam@example.com" || got.Attendees[0].Email != "jane.doe@gmail.com" {
		t.Errorf("Parse(Cancel) = %+v", got)
	}
}

func TestPublishRoundTrip(t *testing.T) {
	for _, status := range []string{"", StatusConfirmed, StatusTentative, StatusCancelled} {
		ev := sampleEvent()
		ev.Status = status
		ev.Sequence = 3
		ev.Attendees[0].PartStat = PartAccepted
		b, err := Publish(ev)
		if err != nil {
			t.Fatalf("Publish(%q): %v", status, err)
		}
		checkLines(t, b)
		if strings.Contains(string(b), "METHOD:") {
			t.Errorf("Publish(%q) writes a METHOD", status)
		}
		msg, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Publish(%q)): %v", status, err)
		}
		want := status
		if want == "" {
			want = StatusConfirmed
		}
		got := msg.Events[0]
		if msg.Method != "" || got.Status != want || got.Sequence != 3 {
			t.Errorf("Parse(Publish(%q)) = method %q status %q seq %d", status, msg.Method, got.Status, got.Sequence)
		}
		if got.Attendees[0].PartStat != PartAccepted {
			t.Errorf("Publish(%q) attendee PARTSTAT = %q, want ACCEPTED kept", status, got.Attendees[0].PartStat)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	bad := map[string]func(*Event){
		"no uid":           func(e *Event) { e.UID = "" },
		"uid with newline": func(e *Event) { e.UID = "a\r\nb@x" },
		"no start":         func(e *Event) { e.Start = time.Time{} },
		"end before start": func(e *Event) { e.End = e.Start.Add(-time.Minute) },
		"no organizer":     func(e *Event) { e.Organizer.Email = "" },
		"injected address": func(e *Event) { e.Attendees[0].Email = "a@b.c\r\nATTENDEE:mailto:evil@x" },
		"bad address":      func(e *Event) { e.Attendees[0].Email = "Jane <jane@x.org>" },
		"negative seq":     func(e *Event) { e.Sequence = -1 },
		"bad status":       func(e *Event) { e.Status = "MAYBE" },
		"bad recurrence":   func(e *Event) { e.RecurrenceID = "tomorrow" },
	}
	for name, f := range bad {
		ev := sampleEvent()
		f(&ev)
		if b, err := Publish(ev); err == nil {
			t.Errorf("Publish(%s) = %q, want an error", name, b)
		}
	}
}

func TestLongLinesFold(t *testing.T) {
	ev := sampleEvent()
	ev.Description = strings.Repeat("Grüße aus München — ", 30)
	b, err := Request(ev)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, b)
	msg, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Events[0].Description, strings.TrimSpace(ev.Description); got != want {
		t.Errorf("Description after folding = %q, want %q", got, want)
	}
}

func TestNewUID(t *testing.T) {
	a, b := NewUID("example.com"), NewUID("example.com")
	if a == b || !strings.HasSuffix(a, "@example.com") || len(a) < 20 {
		t.Errorf("NewUID = %q, %q", a, b)
	}
	if u := NewUID("evil\r\n.com"); strings.ContainsAny(u, "\r\n") {
		t.Errorf("NewUID kept a line break: %q", u)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file   string
		method string
		want   Event
	}{
		{"google_reply_accepted.ics", MethodReply, Event{
			UID: "4f2a9c0e1b7d@example.com", Stamp: utc("2026-11-25T18:15:02Z"),
			Start: utc("2026-12-02T22:00:00Z"), End: utc("2026-12-02T22:30:00Z"),
			Summary: "Coffee chat: Sam / Jane", Description: "Thanks for making time, Jane!\n\nSam",
			Location: "https://meet.example.com/abc-defg-hij", Status: StatusConfirmed,
			Organizer: Person{Name: "Sam Rivera", Email: "sam@example.com"},
			Attendees: []Person{{Name: "Jane Doe", Email: "jane.doe@gmail.com", PartStat: PartAccepted}},
		}},
		{"outlook_reply_declined.ics", MethodReply, Event{
			UID: "7c1e5b2d90aa@example.com", Sequence: 1, Stamp: utc("2026-11-26T09:30:12Z"),
			// Pacific Standard Time (a Windows name) on 2 Dec is PST, UTC-8.
			Start: utc("2026-12-02T22:00:00Z"), End: utc("2026-12-02T22:30:00Z"),
			Summary: "Declined: Coffee chat: Sam / John", Location: "Blue Bottle, 66 Mint St",
			Organizer: Person{Name: "Sam Rivera", Email: "sam@example.com"},
			Attendees: []Person{{Name: "John Smith", Email: "john.smith@contoso.com", PartStat: PartDeclined}},
			Comment:   "Sorry, I'm travelling that week.\n",
		}},
		{"outlook_reply_tentative_customtz.ics", MethodReply, Event{
			UID:   "040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5@example.com",
			Stamp: utc("2026-10-20T07:15:00Z"),
			// Only the VTIMEZONE says what "Customized Time Zone" is: the
			// day after the last Sunday of October it is UTC+1.
			Start: utc("2026-10-26T09:00:00Z"), End: utc("2026-10-26T09:30:00Z"),
			Summary:   "Mit Vorbehalt angenommen: Coffee chat",
			Organizer: Person{Name: "Sam Rivera", Email: "sam@example.com"},
			Attendees: []Person{{Name: "Lena Vogel", Email: "lena.vogel@firma.example", PartStat: PartTentative}},
		}},
		{"apple_reply_accepted.ics", MethodReply, Event{
			UID: "9b8e7d6c5a4f@example.com", Stamp: utc("2026-11-26T15:02:01Z"),
			Start: utc("2026-12-03T15:00:00Z"), End: utc("2026-12-03T15:30:00Z"),
			Summary:   "Coffee chat: Sam / Alex",
			Organizer: Person{Name: "Sam Rivera", Email: "sam@example.com"},
			Attendees: []Person{
				{Name: "Alex Chen", Email: "alex.chen@icloud.com", PartStat: PartAccepted},
				{Name: "Sam Rivera", Email: "sam@example.com", PartStat: PartAccepted},
			},
		}},
		{"counter.ics", MethodCounter, Event{
			UID: "4f2a9c0e1b7d@example.com", Stamp: utc("2026-11-26T10:10:10Z"),
			Start: utc("2026-12-03T23:00:00Z"), End: utc("2026-12-03T23:30:00Z"),
			Summary:   "Coffee chat: Sam / Jane",
			Organizer: Person{Name: "Sam Rivera", Email: "sam@example.com"},
			Attendees: []Person{{Name: "Jane Doe", Email: "jane.doe@gmail.com", PartStat: PartTentative}},
			Comment:   "Could we do Thursday at 3 instead?",
		}},
		{"request_from_other.ics", MethodRequest, Event{
			UID: "1a2b3c4d5e6f7g8h9i@google.com", Stamp: utc("2026-12-01T12:00:00Z"),
			Start: utc("2026-12-07T15:00:00Z"), End: utc("2026-12-07T15:30:00Z"),
			Summary: "Sam <> Lena", Description: "Happy to chat — here is a slot that works for me.",
			Status:    StatusConfirmed,
			Organizer: Person{Name: "Lena Vogel", Email: "lena.vogel@firma.example"},
			Attendees: []Person{
				{Name: "Lena Vogel", Email: "lena.vogel@firma.example", PartStat: PartAccepted},
				{Name: "sam@example.com", Email: "sam@example.com", PartStat: PartNeedsAction},
			},
		}},
		{"cancel.ics", MethodCancel, Event{
			UID: "1a2b3c4d5e6f7g8h9i@google.com", Sequence: 2, Stamp: utc("2026-12-03T08:00:00Z"),
			Start: utc("2026-12-07T15:00:00Z"), End: utc("2026-12-07T15:30:00Z"),
			Summary: "Sam <> Lena", Status: StatusCancelled,
			Organizer: Person{Name: "Lena Vogel", Email: "lena.vogel@firma.example"},
			Attendees: []Person{{Name: "sam@example.com", Email: "sam@example.com", PartStat: PartNeedsAction}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			msg, err := Parse(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if msg.Method != tt.method || len(msg.Events) != 1 {
				t.Fatalf("Parse = method %q, %d events; want %q, 1", msg.Method, len(msg.Events), tt.method)
			}
			sameEvent(t, msg.Events[0], tt.want)
		})
	}
}

func TestParseBroken(t *testing.T) {
	tests := map[string]string{
		"broken_truncated.ics":   "truncated",
		"broken_missing_end.ics": "END",
		"broken_garbage.ics":     "",
		"broken_param.ics":       "",
		"broken_date.ics":        "DTSTART",
		"broken_tz.ics":          "Mars/Olympus_Mons",
	}
	for file, want := range tests {
		msg, err := Parse(readFixture(t, file))
		if err == nil {
			t.Errorf("Parse(%s) = %+v, want an error", file, msg)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) error %q does not mention %q", file, err, want)
		}
	}
	for _, in := range []string{"", "   \r\n", "\xef\xbb\xbf", "BEGIN:VEVENT\r\nEND:VEVENT\r\n", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) gave no error", in)
		}
	}
}

func TestParseAllDayAndFloating(t *testing.T) {
	in := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Europe/Berlin\r\n" +
		"BEGIN:VEVENT\r\nUID:a@b\r\nDTSTART;VALUE=DATE:20261026\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:c@d\r\nDTSTART:20261026T090000\r\nDURATION:PT45M\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:e@f\r\nDTSTART;TZID=/mozilla.org/20070129_1/America/Chicago:20261026T090000\r\nDTEND;TZID=Local:20261026T170000\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	msg, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	ad := msg.Events[0]
	if !ad.AllDay || !ad.Start.Equal(utc("2026-10-25T23:00:00Z")) || !ad.End.Equal(utc("2026-10-26T23:00:00Z")) {
		t.Errorf("all-day = %v %v–%v", ad.AllDay, ad.Start, ad.End)
	}
	fl := msg.Events[1]
	if !fl.Start.Equal(utc("2026-10-26T08:00:00Z")) || fl.End.Sub(fl.Start) != 45*time.Minute {
		t.Errorf("floating = %v–%v", fl.Start, fl.End)
	}
	moz := msg.Events[2]
	if !moz.Start.Equal(utc("2026-10-26T14:00:00Z")) {
		t.Errorf("mozilla TZID start = %v, want 14:00 UTC", moz.Start)
	}
}
