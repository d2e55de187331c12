package calendar

import (
	"fmt"
	"strings"
	"time"
)

// InviteText is the text/plain part that goes with an invitation: the note
// (or a short friendly line), then what, when (in loc and in UTC), where and
// who. A cancelled event says so first.
func InviteText(ev Event, loc *time.Location, note string) string {
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	summary := cleanLine(ev.Summary)
	if summary == "" {
		summary = "Meeting"
	}
	if note = strings.TrimSpace(cleanText(note)); note != "" {
		b.WriteString(note)
		b.WriteString("\n\n")
	} else if ev.Status == StatusCancelled {
		fmt.Fprintf(&b, "This meeting has been cancelled: %s.\n\n", summary)
	} else if ev.Sequence > 0 {
		fmt.Fprintf(&b, "The details of %q have changed; here is the updated invitation.\n\n", summary)
	} else {
		fmt.Fprintf(&b, "Here is a calendar invitation for %q. I look forward to it!\n\n", summary)
	}
	if ev.Status == StatusCancelled && note != "" {
		b.WriteString("This meeting has been cancelled.\n\n")
	}
	fmt.Fprintf(&b, "What:  %s\n", summary)
	if !ev.Start.IsZero() {
		fmt.Fprintf(&b, "When:  %s\n", span(ev.Start.In(loc), ev.End.In(loc), loc.String()))
		if loc.String() != "UTC" {
			fmt.Fprintf(&b, "       %s\n", span(ev.Start.UTC(), ev.End.UTC(), "UTC"))
		}
	}
	if l := cleanLine(ev.Location); l != "" {
		fmt.Fprintf(&b, "Where: %s\n", l)
	}
	if u := cleanLine(ev.URL); u != "" && u != cleanLine(ev.Location) {
		fmt.Fprintf(&b, "Link:  %s\n", u)
	}
	var who []string
	if ev.Organizer.Email != "" {
		who = append(who, personText(ev.Organizer)+" (organizer)")
	}
	for _, a := range ev.Attendees {
		who = append(who, personText(a))
	}
	if len(who) > 0 {
		fmt.Fprintf(&b, "Who:   %s\n", strings.Join(who, "\n       "))
	}
	if d := cleanText(ev.Description); d != "" {
		b.WriteString("\n")
		b.WriteString(d)
		b.WriteString("\n")
	}
	return b.String()
}

// span formats "Tuesday, 10 March 2026, 10:00–10:30 PDT (America/Los_Angeles)".
func span(s, e time.Time, zone string) string {
	out := s.Format("Monday, 2 January 2006, 15:04")
	switch {
	case e.IsZero() || !e.After(s):
	case s.Format(dateFormat) == e.Format(dateFormat):
		out += "–" + e.Format("15:04")
	default:
		out += " – " + e.Format("Monday, 2 January 2006, 15:04")
	}
	abbr := s.Format("MST")
	if abbr == zone || zone == "" || zone == "Local" {
		return out + " " + abbr
	}
	return out + " " + abbr + " (" + zone + ")"
}

func personText(p Person) string {
	name := cleanLine(p.Name)
	if name == "" {
		return p.Email
	}
	return name + " <" + p.Email + ">"
}
