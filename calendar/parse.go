package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// ErrEmpty is returned for input with no calendar in it.
var ErrEmpty = errors.New("empty calendar")

const (
	utcFormat  = "20060102T150405Z"
	dateFormat = "20060102"
)

// Parse reads an iCalendar object (an iMIP part, a .ics file): its METHOD
// and its VEVENTs with ORGANIZER, ATTENDEE (addresses lower-cased, without
// "mailto:") and PARTSTAT, SEQUENCE, STATUS, and times resolved through
// TZID: IANA names, Outlook's Windows names, the file's VTIMEZONE, or UTC.
// A floating time or an all-day date is read in the file's X-WR-TIMEZONE,
// else UTC. Broken input gives an error, never a panic.
func Parse(data []byte) (msg *Message, err error) {
	cals, err := decodeAll(data, 1)
	if err != nil {
		return nil, err
	}
	cal := cals[0]
	z := newZones(cal)
	msg = &Message{}
	if m := cal.Props.Get(ical.PropMethod); m != nil {
		msg.Method = strings.ToUpper(strings.TrimSpace(m.Value))
	}
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		ev, err := eventOf(c, z)
		if err != nil {
			return nil, fmt.Errorf("parse calendar: %w", err)
		}
		msg.Events = append(msg.Events, ev)
	}
	return msg, nil
}

// decodeAll decodes up to max VCALENDAR objects (max <= 0: all) from data.
// go-ical panics on some malformed lines; that is turned into an error.
func decodeAll(data []byte, max int) (cals []*ical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cals, err = nil, fmt.Errorf("parse calendar: malformed content line (%v)", r)
		}
	}()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	dec := ical.NewDecoder(bytes.NewReader(data))
	for max <= 0 || len(cals) < max {
		cal, err := dec.Decode()
		if err != nil {
			if len(cals) > 0 && errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("parse calendar: truncated: missing END:VCALENDAR")
			}
			if !bytes.Contains(bytes.ToUpper(data), []byte("END:VCALENDAR")) && bytes.Contains(bytes.ToUpper(data), []byte("BEGIN:VCALENDAR")) {
				return nil, fmt.Errorf("parse calendar: truncated: missing END:VCALENDAR (%w)", err)
			}
			return nil, fmt.Errorf("parse calendar: %w", err)
		}
		cals = append(cals, cal)
	}
	return cals, nil
}

// zones resolves the times of one calendar.
type zones struct {
	def   *time.Location // for floating times and dates
	vtz   map[string]*ical.Component
	cache map[string]*time.Location
}

func newZones(cal *ical.Calendar) *zones {
	z := &zones{def: time.UTC, vtz: map[string]*ical.Component{}, cache: map[string]*time.Location{}}
	if p := cal.Props.Get("X-WR-TIMEZONE"); p != nil {
		if loc, err := z.lookup(strings.TrimSpace(p.Value)); err == nil {
			z.def = loc
		}
	}
	for _, c := range cal.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		if p := c.Props.Get(ical.PropTimezoneID); p != nil {
			z.vtz[strings.TrimSpace(p.Value)] = c
		}
	}
	return z
}

// lookup finds a zone by TZID without VTIMEZONE: IANA, then Windows names,
// then an IANA name at the end of a longer ID (/mozilla.org/.../Europe/Berlin).
func (z *zones) lookup(tzid string) (*time.Location, error) {
	if tzid == "" || tzid == "Local" {
		return nil, fmt.Errorf("unknown time zone %q", tzid)
	}
	if strings.EqualFold(tzid, "UTC") || strings.EqualFold(tzid, "GMT") || tzid == "Z" {
		return time.UTC, nil
	}
	if iana, ok := windowsZones[tzid]; ok {
		return time.LoadLocation(iana)
	}
	if !strings.HasPrefix(tzid, "/") && !strings.Contains(tzid, "..") {
		if loc, err := time.LoadLocation(tzid); err == nil {
			return loc, nil
		}
	}
	parts := strings.Split(strings.Trim(tzid, "/ "), "/")
	for i := 1; i < len(parts)-1; i++ {
		name := strings.Join(parts[i:], "/")
		if strings.Contains(name, "..") {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("unknown time zone %q", tzid)
}

// at returns the instant of a wall-clock time in the zone tzid.
func (z *zones) at(wallTime time.Time, tzid string) (time.Time, error) {
	tzid = strings.TrimSpace(tzid)
	y, mo, d := wallTime.Date()
	h, mi, s := wallTime.Clock()
	if loc, ok := z.cache[tzid]; ok {
		return time.Date(y, mo, d, h, mi, s, 0, loc), nil
	}
	if loc, err := z.lookup(tzid); err == nil {
		z.cache[tzid] = loc
		return time.Date(y, mo, d, h, mi, s, 0, loc), nil
	}
	if c, ok := z.vtz[tzid]; ok {
		off, err := vtimezoneOffset(c, wallTime)
		if err != nil {
			return time.Time{}, fmt.Errorf("time zone %q: %w", tzid, err)
		}
		return time.Date(y, mo, d, h, mi, s, 0, time.FixedZone(tzid, off)), nil
	}
	if tzid == "Local" {
		return time.Date(y, mo, d, h, mi, s, 0, z.def), nil
	}
	return time.Time{}, fmt.Errorf("unknown time zone %q", tzid)
}

// vtimezoneOffset returns the UTC offset in seconds that a VTIMEZONE gives
// for a wall-clock time (read as if UTC): the TZOFFSETTO of the latest
// STANDARD or DAYLIGHT onset at or before it.
func vtimezoneOffset(c *ical.Component, wallTime time.Time) (int, error) {
	var best time.Time
	bestOff, firstOff := 0, 0
	var first time.Time
	found := false
	for _, sub := range c.Children {
		if sub.Name != ical.CompTimezoneStandard && sub.Name != ical.CompTimezoneDaylight {
			continue
		}
		to, err := parseOffset(sub.Props.Get(ical.PropTimezoneOffsetTo))
		if err != nil {
			return 0, err
		}
		from, err := parseOffset(sub.Props.Get(ical.PropTimezoneOffsetFrom))
		if err != nil {
			from = to
		}
		sp := sub.Props.Get(ical.PropDateTimeStart)
		if sp == nil {
			return 0, errors.New("VTIMEZONE rule without DTSTART")
		}
		start, err := time.ParseInLocation("20060102T150405", strings.TrimSuffix(sp.Value, "Z"), time.UTC)
		if err != nil {
			return 0, fmt.Errorf("VTIMEZONE DTSTART: %w", err)
		}
		if first.IsZero() || start.Before(first) {
			first, firstOff = start, from
		}
		onset := time.Time{}
		if !start.After(wallTime) {
			onset = start
		}
		if rp := sub.Props.Get(ical.PropRecurrenceRule); rp != nil {
			opt, err := rrule.StrToROption(rp.Value)
			if err != nil {
				return 0, fmt.Errorf("VTIMEZONE RRULE: %w", err)
			}
			opt.Dtstart = start
			if opt.Freq != rrule.YEARLY {
				return 0, fmt.Errorf("VTIMEZONE RRULE %q is not yearly", rp.Value)
			}
			if gap := wallTime.Year() - start.Year() - 2; opt.Count == 0 && gap > 0 {
				// Start near the time asked for: the same rule, fewer years.
				step := max(opt.Interval, 1)
				opt.Dtstart = start.AddDate(gap/step*step, 0, 0)
			}
			if !opt.Until.IsZero() {
				// UNTIL is in UTC; compare as wall time with the old offset.
				opt.Until = opt.Until.Add(time.Duration(from) * time.Second)
			} else {
				// rrule-go's default UNTIL is DTSTART + 292 years, which
				// Outlook's DTSTART:16010101 would hit.
				opt.Until = wallTime.AddDate(0, 0, 1)
			}
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				return 0, fmt.Errorf("VTIMEZONE RRULE: %w", err)
			}
			if t := r.Before(wallTime, true); !t.IsZero() {
				onset = t
			}
		}
		for _, rd := range sub.Props.Values(ical.PropRecurrenceDates) {
			for _, v := range strings.Split(rd.Value, ",") {
				t, err := time.ParseInLocation("20060102T150405", strings.TrimSuffix(v, "Z"), time.UTC)
				if err == nil && !t.After(wallTime) && t.After(onset) {
					onset = t
				}
			}
		}
		if !onset.IsZero() && (!found || onset.After(best)) {
			best, bestOff, found = onset, to, true
		}
	}
	if first.IsZero() {
		return 0, errors.New("VTIMEZONE without STANDARD or DAYLIGHT")
	}
	if !found {
		return firstOff, nil
	}
	return bestOff, nil
}

// parseOffset reads a UTC offset such as -0800 or +053000.
func parseOffset(p *ical.Prop) (int, error) {
	if p == nil {
		return 0, errors.New("VTIMEZONE rule without offset")
	}
	v := strings.TrimSpace(p.Value)
	if len(v) != 5 && len(v) != 7 || v[0] != '+' && v[0] != '-' {
		return 0, fmt.Errorf("invalid UTC offset %q", v)
	}
	n := 0
	for i, unit := range []int{3600, 60, 1} {
		if 1+2*i+2 > len(v) {
			break
		}
		x, err := strconv.Atoi(v[1+2*i : 3+2*i])
		if err != nil || x < 0 {
			return 0, fmt.Errorf("invalid UTC offset %q", v)
		}
		n += x * unit
	}
	if v[0] == '-' {
		n = -n
	}
	return n, nil
}

// timeOf resolves a DTSTART-like property: the instant, and whether it is a
// date (all-day).
func (z *zones) timeOf(p *ical.Prop) (time.Time, bool, error) {
	v := strings.TrimSpace(p.Value)
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE") || len(v) == len(dateFormat) {
		t, err := time.ParseInLocation(dateFormat, v, z.def)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s: invalid date %q", p.Name, v)
		}
		return t, true, nil
	}
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		t, err := time.Parse(utcFormat, strings.ToUpper(v))
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s: invalid date-time %q", p.Name, v)
		}
		return t, false, nil
	}
	t, err := time.Parse("20060102T150405", v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: invalid date-time %q", p.Name, v)
	}
	tzid := p.Params.Get(ical.PropTimezoneID)
	if tzid == "" {
		y, mo, d := t.Date()
		h, mi, s := t.Clock()
		return time.Date(y, mo, d, h, mi, s, 0, z.def), false, nil
	}
	t, err = z.at(t, tzid)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: %w", p.Name, err)
	}
	return t, false, nil
}

// span returns an event's start, end and all-day flag. An event without
// DTSTART gives zero times; without DTEND, DURATION gives the end, else a
// date lasts one day and a date-time no time.
func (z *zones) span(c *ical.Component) (start, end time.Time, allDay bool, err error) {
	sp := c.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return
	}
	if start, allDay, err = z.timeOf(sp); err != nil {
		return
	}
	if ep := c.Props.Get(ical.PropDateTimeEnd); ep != nil {
		if end, _, err = z.timeOf(ep); err != nil {
			return
		}
	} else if dp := c.Props.Get(ical.PropDuration); dp != nil {
		var d time.Duration
		if d, err = dp.Duration(); err != nil {
			err = fmt.Errorf("DURATION: %w", err)
			return
		}
		if allDay && d%(24*time.Hour) == 0 {
			end = start.AddDate(0, 0, int(d/(24*time.Hour)))
		} else {
			end = start.Add(d)
		}
	} else if allDay {
		end = start.AddDate(0, 0, 1)
	} else {
		end = start
	}
	if end.Before(start) {
		err = fmt.Errorf("DTEND %s is before DTSTART %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	return
}

func eventOf(c *ical.Component, z *zones) (Event, error) {
	var ev Event
	ev.UID = strings.TrimSpace(text(c.Props.Get(ical.PropUID)))
	if ev.UID == "" {
		return ev, errors.New("event without UID")
	}
	wrap := func(err error) error { return fmt.Errorf("event %s: %w", ev.UID, err) }
	if p := c.Props.Get(ical.PropSequence); p != nil {
		n, err := strconv.Atoi(strings.TrimSpace(p.Value))
		if err != nil || n < 0 {
			return ev, wrap(fmt.Errorf("invalid SEQUENCE %q", p.Value))
		}
		ev.Sequence = n
	}
	if p := c.Props.Get(ical.PropDateTimeStamp); p != nil {
		t, _, err := z.timeOf(p)
		if err != nil {
			return ev, wrap(err)
		}
		ev.Stamp = t
	}
	var err error
	if ev.Start, ev.End, ev.AllDay, err = z.span(c); err != nil {
		return ev, wrap(err)
	}
	ev.Summary = text(c.Props.Get(ical.PropSummary))
	ev.Description = text(c.Props.Get(ical.PropDescription))
	ev.Location = text(c.Props.Get(ical.PropLocation))
	if p := c.Props.Get(ical.PropURL); p != nil {
		ev.URL = strings.TrimSpace(p.Value)
	}
	ev.Status = strings.ToUpper(strings.TrimSpace(text(c.Props.Get(ical.PropStatus))))
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		ev.Organizer = personOf(p)
	}
	for _, p := range c.Props.Values(ical.PropAttendee) {
		a := personOf(&p)
		if a.PartStat == "" {
			a.PartStat = PartNeedsAction
		}
		ev.Attendees = append(ev.Attendees, a)
	}
	if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
		t, allDay, err := z.timeOf(p)
		if err != nil {
			return ev, wrap(err)
		}
		if allDay {
			ev.RecurrenceID = t.Format(dateFormat)
		} else {
			ev.RecurrenceID = t.UTC().Format(utcFormat)
		}
	}
	var comments []string
	for _, p := range c.Props.Values(ical.PropComment) {
		comments = append(comments, text(&p))
	}
	ev.Comment = strings.Join(comments, "\n")
	return ev, nil
}

// personOf reads an ORGANIZER or ATTENDEE: CN, the address (lower case,
// without mailto:, or the EMAIL parameter when the value is no mailto URI)
// and PARTSTAT.
func personOf(p *ical.Prop) Person {
	v := strings.TrimSpace(p.Value)
	var email string
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		email = v[7:]
	} else if e := p.Params.Get("EMAIL"); e != "" {
		email = e
	} else {
		email = v
	}
	return Person{
		Name:     strings.TrimSpace(p.Params.Get(ical.ParamCommonName)),
		Email:    strings.ToLower(strings.TrimSpace(email)),
		PartStat: strings.ToUpper(strings.TrimSpace(p.Params.Get(ical.ParamParticipationStatus))),
	}
}

// text unescapes a TEXT value leniently: \n and \N are line breaks, \\ \;
// \, are the character, and an unknown escape keeps the character (Outlook
// writes \: at times).
func text(p *ical.Prop) string {
	if p == nil {
		return ""
	}
	v := p.Value
	if !strings.Contains(v, `\`) {
		return v
	}
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 == len(v) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch v[i] {
		case 'n', 'N':
			sb.WriteByte('\n')
		default:
			sb.WriteByte(v[i])
		}
	}
	return sb.String()
}
