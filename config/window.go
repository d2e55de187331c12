package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseDays reads a set of weekdays: "Mon-Fri", "Mon,Wed,Fri", "Sat-Mon" (a range
// wraps over the week end), "Mon-Wed,Fri", "daily", "weekdays", "weekends". Names
// are English, three letters or full, any case. The result is sorted from Sunday
// and has no duplicates.
func ParseDays(s string) ([]time.Weekday, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	switch in {
	case "":
		return nil, fmt.Errorf("no days")
	case "daily", "every day", "everyday", "all":
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, nil
	case "weekdays":
		in = "mon-fri"
	case "weekends", "weekend":
		in = "sat-sun"
	}
	var set [7]bool
	for _, part := range strings.Split(in, ",") {
		part = strings.TrimSpace(part)
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.TrimSpace(from)]
		if !ok {
			return nil, fmt.Errorf("unknown day %q: want Mon, Tue, ... or a range like Mon-Fri", strings.TrimSpace(from))
		}
		if !isRange {
			set[a] = true
			continue
		}
		b, ok := dayNames[strings.TrimSpace(to)]
		if !ok {
			return nil, fmt.Errorf("unknown day %q: want Mon, Tue, ... or a range like Mon-Fri", strings.TrimSpace(to))
		}
		for d := a; ; d = (d + 1) % 7 {
			set[d] = true
			if d == b {
				break
			}
		}
	}
	var days []time.Weekday
	for d, on := range set {
		if on {
			days = append(days, time.Weekday(d))
		}
	}
	return days, nil
}

// ParseHours reads a daily span "09:00-17:00" as offsets from midnight. "24:00"
// may end a span. The end must come after the start.
func ParseHours(s string) (from, to time.Duration, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("hours %q: want HH:MM-HH:MM, e.g. 09:00-17:00", s)
	}
	if from, err = parseClock(a); err != nil {
		return 0, 0, fmt.Errorf("hours %q: %w", s, err)
	}
	if to, err = parseClock(b); err != nil {
		return 0, 0, fmt.Errorf("hours %q: %w", s, err)
	}
	if from == 24*time.Hour {
		return 0, 0, fmt.Errorf("hours %q: cannot start at 24:00", s)
	}
	if to <= from {
		return 0, 0, fmt.Errorf("hours %q: the end must come after the start", s)
	}
	return from, to, nil
}

// parseClock reads "HH:MM" (or "H:MM") as an offset from midnight, up to 24:00.
func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(ms) != 2 || len(hs) < 1 || len(hs) > 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) || hs[0] == '+' || ms[0] == '+' {
		return 0, fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Window is a weekly set of open hours in a time zone: on each of Days, from From
// to To after local midnight (wall clock, so 09:00 stays 09:00 across DST).
type Window struct {
	Days     []time.Weekday
	From, To time.Duration
	Loc      *time.Location
}

// ParseWindow reads "Mon-Fri 08:00-18:00", "daily 09:00-12:00", "Sat-Sun" (whole
// days), "08:00-18:00" (every day) or "always", in loc (UTC when nil).
func ParseWindow(s string, loc *time.Location) (Window, error) {
	if loc == nil {
		loc = time.UTC
	}
	w := Window{Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, From: 0, To: 24 * time.Hour, Loc: loc}
	in := strings.TrimSpace(s)
	if strings.EqualFold(in, "always") {
		return w, nil
	}
	if in == "" {
		return Window{}, fmt.Errorf("empty window: want e.g. \"Mon-Fri 08:00-18:00\" or \"always\"")
	}
	fields := strings.Fields(in)
	var days, hours string
	switch {
	case len(fields) == 1 && strings.Contains(fields[0], ":"):
		hours = fields[0]
	case len(fields) == 1:
		days = fields[0]
	case len(fields) == 2:
		days, hours = fields[0], fields[1]
	default:
		// "Mon - Fri 08:00 - 18:00" and "every day 08:00-18:00": split at the first digit
		i := strings.IndexAny(in, "0123456789")
		if i <= 0 {
			return Window{}, fmt.Errorf("window %q: want e.g. \"Mon-Fri 08:00-18:00\" or \"always\"", s)
		}
		days, hours = strings.ReplaceAll(in[:i], " ", ""), strings.ReplaceAll(in[i:], " ", "")
		if strings.EqualFold(days, "everyday") {
			days = "daily"
		}
	}
	var err error
	if days != "" {
		if w.Days, err = ParseDays(days); err != nil {
			return Window{}, fmt.Errorf("window %q: %w", s, err)
		}
	}
	if hours != "" {
		if w.From, w.To, err = ParseHours(hours); err != nil {
			return Window{}, fmt.Errorf("window %q: %w", s, err)
		}
	}
	return w, nil
}

// String is the window in the form ParseWindow reads.
func (w Window) String() string {
	var parts []string
	for _, d := range w.Days {
		parts = append(parts, d.String()[:3])
	}
	return fmt.Sprintf("%s %s-%s", strings.Join(parts, ","), clock(w.From), clock(w.To))
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func (w Window) loc() *time.Location {
	if w.Loc == nil {
		return time.UTC
	}
	return w.Loc
}

// at is the instant of wall-clock offset d on the local day y-m-day. A wall time
// that does not exist (inside a spring-forward gap) moves forward by the gap, as
// time.Date does.
func (w Window) at(y int, m time.Month, day int, d time.Duration) time.Time {
	return time.Date(y, m, day, int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, w.loc())
}

// span is the opening of the window on the local day y-m-day, if it opens that day.
func (w Window) span(y int, m time.Month, day int) (open, close time.Time, ok bool) {
	wd := time.Date(y, m, day, 12, 0, 0, 0, w.loc()).Weekday()
	if !slices.Contains(w.Days, wd) {
		return time.Time{}, time.Time{}, false
	}
	return w.at(y, m, day, w.From), w.at(y, m, day, w.To), true
}

// Contains reports whether t falls inside the window (open ≤ t < close).
func (w Window) Contains(t time.Time) bool {
	lt := t.In(w.loc())
	y, m, d := lt.Date()
	open, close, ok := w.span(y, m, d)
	return ok && !t.Before(open) && t.Before(close)
}

// Next is t when t is inside the window, else the next opening after t. It is
// the zero time when the window has no days.
func (w Window) Next(t time.Time) time.Time {
	if len(w.Days) == 0 || w.To <= w.From {
		return time.Time{}
	}
	if w.Contains(t) {
		return t
	}
	lt := t.In(w.loc())
	y, m, d := lt.Date()
	for i := 0; i <= 8; i++ {
		open, _, ok := w.span(y, m, d+i)
		if ok && open.After(t) {
			return open
		}
	}
	return time.Time{}
}
