package calendar

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// iTIP methods.
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
	MethodReply   = "REPLY"
	MethodCounter = "COUNTER"
	MethodPublish = "PUBLISH"
)

// Event statuses.
const (
	StatusConfirmed = "CONFIRMED"
	StatusTentative = "TENTATIVE"
	StatusCancelled = "CANCELLED"
)

// Participation statuses (PARTSTAT).
const (
	PartNeedsAction = "NEEDS-ACTION"
	PartAccepted    = "ACCEPTED"
	PartDeclined    = "DECLINED"
	PartTentative   = "TENTATIVE"
	PartDelegated   = "DELEGATED"
)

// ProdID is the PRODID written into every calendar.
const ProdID = "-//coffeechat//coffeechat//EN"

// Person is an organizer or attendee. Email is a bare address (no
// "mailto:"); PartStat is the PARTSTAT parameter, upper case.
type Person struct{ Name, Email, PartStat string }

// Event is one VEVENT. Times are instants; they are written in UTC.
type Event struct {
	UID      string
	Sequence int
	Stamp    time.Time // DTSTAMP; zero means now when building
	Start    time.Time
	End      time.Time
	// AllDay is set by Parse when DTSTART is a DATE; Start and End are then
	// midnights in the file's zone (UTC when it names none).
	AllDay      bool
	Summary     string
	Description string
	Location    string
	URL         string
	Status      string // CONFIRMED | TENTATIVE | CANCELLED
	Organizer   Person
	Attendees   []Person
	// RecurrenceID names one instance of a recurring event: a UTC
	// date-time such as 20260310T170000Z, or a date such as 20260310.
	RecurrenceID string
	Comment      string
}

// Interval returns the event's span.
func (ev Event) Interval() Interval { return Interval{ev.Start, ev.End} }

// Attendee returns the attendee with the given address (case-insensitive).
func (ev Event) Attendee(email string) (Person, bool) {
	for _, p := range ev.Attendees {
		if strings.EqualFold(p.Email, email) {
			return p, true
		}
	}
	return Person{}, false
}

// Message is a parsed iCalendar object: its METHOD (empty when absent) and
// its events.
type Message struct {
	Method string
	Events []Event
}

// MIMEType returns the Content-Type for a text/calendar part carrying the
// given method, as iMIP wants it on the part: text/calendar; method=REQUEST;
// charset=UTF-8. An empty method gives no method parameter.
func MIMEType(method string) string {
	if method == "" {
		return "text/calendar; charset=UTF-8"
	}
	return "text/calendar; method=" + method + "; charset=UTF-8"
}

// NewUID returns a fresh random UID of the form RANDOM@domain.
func NewUID(domain string) string {
	domain = strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '"' || r == '@' {
			return -1
		}
		return r
	}, domain)
	if domain == "" {
		domain = "coffeechat"
	}
	return strings.ToLower(rand.Text()) + "@" + domain
}

// Request builds a METHOD:REQUEST invitation (a new event, or an update with
// the same UID and a higher Sequence). Status defaults to CONFIRMED;
// attendees are asked to reply (RSVP=TRUE, PARTSTAT=NEEDS-ACTION unless the
// Person carries one).
func Request(ev Event) ([]byte, error) {
	if ev.Status == "" || ev.Status == StatusCancelled {
		ev.Status = StatusConfirmed
	}
	return build(MethodRequest, ev, true)
}

// Cancel builds a METHOD:CANCEL for the event with STATUS:CANCELLED. The
// caller passes the same UID and the bumped Sequence.
func Cancel(ev Event) ([]byte, error) {
	ev.Status = StatusCancelled
	return build(MethodCancel, ev, false)
}

// Publish builds the user's own copy of the event, without METHOD (as a
// CalDAV server and an .ics folder want it). Status is kept, CANCELLED too;
// empty means CONFIRMED.
func Publish(ev Event) ([]byte, error) {
	if ev.Status == "" {
		ev.Status = StatusConfirmed
	}
	return build("", ev, false)
}

func build(method string, ev Event, rsvp bool) ([]byte, error) {
	cal, err := calendarOf(method, ev, rsvp)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.UID, err)
	}
	return fold(buf.Bytes()), nil
}

// calendarOf builds the go-ical calendar of one event.
func calendarOf(method string, ev Event, rsvp bool) (*ical.Calendar, error) {
	if err := checkEvent(ev); err != nil {
		return nil, err
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, ProdID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	if method != "" {
		cal.Props.SetText(ical.PropMethod, method)
	}

	e := ical.NewEvent()
	p := e.Props
	p.SetText(ical.PropUID, ev.UID)
	stamp := ev.Stamp
	if stamp.IsZero() {
		stamp = time.Now()
	}
	p.SetDateTime(ical.PropDateTimeStamp, stamp.UTC().Truncate(time.Second))
	p.SetDateTime(ical.PropDateTimeStart, ev.Start.UTC().Truncate(time.Second))
	p.SetDateTime(ical.PropDateTimeEnd, ev.End.UTC().Truncate(time.Second))
	seq := ical.NewProp(ical.PropSequence)
	seq.Value = strconv.Itoa(ev.Sequence)
	p.Set(seq)
	p.SetText(ical.PropStatus, ev.Status)
	p.SetText(ical.PropTransparency, "OPAQUE")
	if s := cleanLine(ev.Summary); s != "" {
		p.SetText(ical.PropSummary, s)
	}
	if s := cleanText(ev.Description); s != "" {
		p.SetText(ical.PropDescription, s)
	}
	if s := cleanLine(ev.Location); s != "" {
		p.SetText(ical.PropLocation, s)
	}
	if s := cleanLine(ev.URL); s != "" {
		u := ical.NewProp(ical.PropURL)
		u.Value = s // URI value: not text-escaped
		p.Set(u)
	}
	if s := cleanText(ev.Comment); s != "" {
		p.SetText(ical.PropComment, s)
	}
	if ev.RecurrenceID != "" {
		r := ical.NewProp(ical.PropRecurrenceID)
		r.Value = ev.RecurrenceID
		if len(ev.RecurrenceID) == len("20060102") {
			r.SetValueType(ical.ValueDate)
		}
		p.Set(r)
	}
	p.Set(personProp(ical.PropOrganizer, ev.Organizer))
	for _, a := range ev.Attendees {
		ap := personProp(ical.PropAttendee, a)
		ap.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		ps := strings.ToUpper(cleanParam(a.PartStat))
		if ps == "" || rsvp {
			ps = PartNeedsAction // a request asks every attendee anew
		}
		ap.Params.Set(ical.ParamParticipationStatus, ps)
		if rsvp {
			ap.Params.Set(ical.ParamRSVP, "TRUE")
		}
		p.Add(ap)
	}
	cal.Children = append(cal.Children, e.Component)
	return cal, nil
}

func personProp(name string, who Person) *ical.Prop {
	pr := ical.NewProp(name)
	if cn := cleanParam(who.Name); cn != "" {
		pr.Params.Set(ical.ParamCommonName, cn)
	}
	pr.Value = "mailto:" + strings.TrimSpace(who.Email)
	return pr
}

// checkEvent rejects an event that cannot be sent.
func checkEvent(ev Event) error {
	if strings.TrimSpace(ev.UID) == "" {
		return errors.New("event without UID")
	}
	if hasControl(ev.UID) {
		return fmt.Errorf("event UID %q has control characters", ev.UID)
	}
	if ev.Start.IsZero() || ev.End.IsZero() {
		return fmt.Errorf("event %s: start and end are required", ev.UID)
	}
	if !ev.End.After(ev.Start) {
		return fmt.Errorf("event %s: end %s is not after start %s", ev.UID, ev.End.Format(time.RFC3339), ev.Start.Format(time.RFC3339))
	}
	if ev.Sequence < 0 {
		return fmt.Errorf("event %s: negative sequence %d", ev.UID, ev.Sequence)
	}
	switch ev.Status {
	case StatusConfirmed, StatusTentative, StatusCancelled:
	default:
		return fmt.Errorf("event %s: unknown status %q", ev.UID, ev.Status)
	}
	if err := checkEmail(ev.Organizer.Email); err != nil {
		return fmt.Errorf("event %s: organizer: %w", ev.UID, err)
	}
	for _, a := range ev.Attendees {
		if err := checkEmail(a.Email); err != nil {
			return fmt.Errorf("event %s: attendee: %w", ev.UID, err)
		}
	}
	if r := ev.RecurrenceID; r != "" {
		if _, err := time.Parse("20060102T150405Z", r); err != nil {
			if _, err := time.Parse("20060102", r); err != nil {
				return fmt.Errorf("event %s: recurrence id %q is neither a UTC date-time nor a date", ev.UID, r)
			}
		}
	}
	return nil
}

func checkEmail(addr string) error {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return errors.New("no email address")
	}
	if hasControl(addr) || strings.ContainsAny(addr, " <>\"") {
		return fmt.Errorf("invalid email address %q", addr)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr {
		return fmt.Errorf("invalid email address %q", addr)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, isBreakOrControl)
}

func isBreakOrControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085'
}

// cleanLine makes a one-line text value: line breaks and other control
// characters become spaces, runs of spaces collapse, ends are trimmed.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if isBreakOrControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cleanText keeps line breaks (as LF, which go-ical escapes as \n) and drops
// every other control character.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			return '\n'
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// cleanParam makes a parameter value (CN): one line, no double quote.
func cleanParam(s string) string {
	return strings.ReplaceAll(cleanLine(s), `"`, "'")
}

// fold folds content lines longer than 75 octets (RFC 5545 3.1), never
// inside a UTF-8 sequence.
func fold(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/64*3)
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+2:]
		}
		limit := 75
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			out.Write(line[:cut])
			out.WriteString("\r\n ")
			line = line[cut:]
			limit = 74 // the leading space counts
		}
		out.Write(line)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}
