package calendar

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/calendar/calendartest"
)

// The cross-check reads what Request, Cancel and Publish write with two
// independent parsers (see calendartest): Python's icalendar and Mozilla's
// ical.js. It runs when COFFEECHAT_XCHECK=1.

func TestCrossCheck(t *testing.T) {
	calendartest.Require(t)

	long := sampleEvent()
	long.UID = NewUID("coffeechat.example.com")
	long.Summary = "Kaffee mit Jürgen Öztürk — über Sportmarketing, Ausbildung und Berufseinstieg"
	long.Description = strings.Repeat("Grüße aus München, bis bald; ", 12)
	long.Attendees = append(long.Attendees, Person{Name: "Ünal, Ayşe", Email: "ayse@example.org"})
	long.Start, long.End = utc("2026-03-09T16:00:00Z"), utc("2026-03-09T16:45:00Z")

	cancelled := sampleEvent()
	cancelled.Sequence = 2
	published := sampleEvent()
	published.Sequence = 1
	published.Status = StatusCancelled
	published.Attendees[0].PartStat = PartAccepted

	type output struct {
		name string
		data []byte
		want calendartest.View
	}
	var outs []output
	add := func(name string, build func(Event) ([]byte, error), ev Event, method, status string, partstat func(Person) string) {
		b, err := build(ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := calendartest.View{Method: method, UID: ev.UID, Start: ev.Start.UTC().Format(time.RFC3339), End: ev.End.UTC().Format(time.RFC3339),
			Organizer: ev.Organizer.Email, Sequence: ev.Sequence, Status: status, Summary: cleanLine(ev.Summary)}
		for _, a := range ev.Attendees {
			w.Attendees = append(w.Attendees, calendartest.Partner{Email: a.Email, PartStat: partstat(a), CN: cleanParam(a.Name)})
		}
		outs = append(outs, output{name, b, w})
	}
	needs := func(Person) string { return PartNeedsAction }
	kept := func(p Person) string {
		if p.PartStat == "" {
			return PartNeedsAction
		}
		return p.PartStat
	}
	add("request", Request, sampleEvent(), MethodRequest, StatusConfirmed, needs)
	add("request-long", Request, long, MethodRequest, StatusConfirmed, needs)
	add("cancel", Cancel, cancelled, MethodCancel, StatusCancelled, kept)
	add("publish-cancelled", Publish, published, "", StatusCancelled, kept)

	var cases []calendartest.Case
	for _, o := range outs {
		cases = append(cases, calendartest.Case{Name: o.name, Data: o.data, Want: o.want})
	}
	calendartest.Check(t, cases...)

	for _, o := range outs {
		// Our own parser must agree too.
		msg, err := Parse(o.data)
		if err != nil {
			t.Fatalf("Parse(%s): %v", o.name, err)
		}
		ev := msg.Events[0]
		own := calendartest.View{Method: msg.Method, UID: ev.UID, Start: ev.Start.UTC().Format(time.RFC3339), End: ev.End.UTC().Format(time.RFC3339),
			Organizer: ev.Organizer.Email, Sequence: ev.Sequence, Status: ev.Status, Summary: ev.Summary}
		for _, a := range ev.Attendees {
			own.Attendees = append(own.Attendees, calendartest.Partner{Email: a.Email, PartStat: a.PartStat, CN: a.Name})
		}
		if !reflect.DeepEqual(own, o.want) {
			t.Errorf("coffeechat reads %s as\n  %+v\nwant\n  %+v", o.name, own, o.want)
		}
	}
}
