package calendar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

const (
	// maxOccurrences bounds the expansion of one recurring event.
	maxOccurrences = 20000
	// maxBusySize bounds one busy source.
	maxBusySize = 32 << 20
)

// ParseBusy reads an iCalendar file and returns the busy intervals that
// overlap [from, to), in time order: recurring events (RRULE, RDATE,
// EXDATE, and instances moved by RECURRENCE-ID) are expanded over the
// range; TRANSP:TRANSPARENT and STATUS:CANCELLED events are skipped;
// all-day events are read in the file's zone (X-WR-TIMEZONE) or UTC.
// VFREEBUSY periods other than FBTYPE=FREE count as busy too.
func ParseBusy(r io.Reader, from, to time.Time) (busy []Interval, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBusySize+1))
	if err != nil {
		return nil, fmt.Errorf("read busy calendar: %w", err)
	}
	if len(data) > maxBusySize {
		return nil, fmt.Errorf("busy calendar larger than %d MiB", maxBusySize>>20)
	}
	defer func() {
		if r := recover(); r != nil {
			busy, err = nil, fmt.Errorf("busy calendar: malformed recurrence (%v)", r)
		}
	}()
	cals, err := decodeAll(data, 0)
	if err != nil {
		return nil, err
	}
	for _, cal := range cals {
		z := newZones(cal)
		// Instances moved or cancelled by a RECURRENCE-ID override are
		// dropped from their master's expansion.
		moved := map[string]map[int64]bool{}
		for _, c := range cal.Children {
			p := c.Props.Get(ical.PropRecurrenceID)
			if c.Name != ical.CompEvent || p == nil {
				continue
			}
			t, _, err := z.timeOf(p)
			if err != nil {
				return nil, fmt.Errorf("busy event %s: %w", text(c.Props.Get(ical.PropUID)), err)
			}
			uid := text(c.Props.Get(ical.PropUID))
			if moved[uid] == nil {
				moved[uid] = map[int64]bool{}
			}
			moved[uid][t.Unix()] = true
		}
		for _, c := range cal.Children {
			var ivs []Interval
			var err error
			switch c.Name {
			case ical.CompEvent:
				ivs, err = eventBusy(c, z, from, to, moved)
			case ical.CompFreeBusy:
				ivs, err = freeBusy(c, z, from, to)
			}
			if err != nil {
				return nil, fmt.Errorf("busy event %s: %w", text(c.Props.Get(ical.PropUID)), err)
			}
			busy = append(busy, ivs...)
		}
	}
	slices.SortFunc(busy, func(a, b Interval) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return slices.Compact(busy), nil
}

func eventBusy(c *ical.Component, z *zones, from, to time.Time, moved map[string]map[int64]bool) ([]Interval, error) {
	if strings.EqualFold(strings.TrimSpace(text(c.Props.Get(ical.PropTransparency))), "TRANSPARENT") ||
		strings.EqualFold(strings.TrimSpace(text(c.Props.Get(ical.PropStatus))), StatusCancelled) {
		return nil, nil
	}
	start, end, allDay, err := z.span(c)
	if err != nil || start.IsZero() {
		return nil, err
	}
	days := 0
	if allDay {
		days = int((end.Sub(start) + 12*time.Hour) / (24 * time.Hour))
	}
	endOf := func(s time.Time) time.Time {
		if allDay {
			return s.AddDate(0, 0, days)
		}
		return s.Add(end.Sub(start))
	}
	one := func(s time.Time) []Interval {
		iv := Interval{s, endOf(s)}
		if !iv.End.After(iv.Start) {
			iv.End = iv.Start.Add(time.Second) // a zero-length event still blocks its instant
		}
		if iv.Start.Before(to) && iv.End.After(from) {
			return []Interval{iv}
		}
		return nil
	}
	rp := c.Props.Get(ical.PropRecurrenceRule)
	rdates := c.Props.Values(ical.PropRecurrenceDates)
	if c.Props.Get(ical.PropRecurrenceID) != nil || rp == nil && len(rdates) == 0 {
		return one(start), nil
	}

	var set rrule.Set
	if rp != nil {
		opt, err := rrule.StrToROptionInLocation(rp.Value, start.Location())
		if err != nil {
			return nil, fmt.Errorf("RRULE %q: %w", rp.Value, err)
		}
		if opt.Freq > rrule.DAILY {
			return nil, fmt.Errorf("RRULE %q: sub-daily recurrence is not supported", rp.Value)
		}
		opt.Dtstart = start
		if opt.Count == 0 && (opt.Freq == rrule.DAILY || opt.Freq == rrule.WEEKLY) {
			// Skip whole periods before the range: an old daily rule would
			// otherwise spend its occurrences before from.
			period := max(opt.Interval, 1)
			if opt.Freq == rrule.WEEKLY {
				period *= 7
			}
			sy, sm, sd := start.Date()
			fy, fm, fd := from.In(start.Location()).Date()
			days := int(time.Date(fy, fm, fd, 0, 0, 0, 0, time.UTC).Sub(time.Date(sy, sm, sd, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
			if n := days/period - 1; n > 0 {
				opt.Dtstart = start.AddDate(0, 0, n*period)
			}
		}
		if opt.Until.IsZero() || opt.Until.After(to) {
			opt.Until = to
		}
		r, err := rrule.NewRRule(*opt)
		if err != nil {
			return nil, fmt.Errorf("RRULE %q: %w", rp.Value, err)
		}
		set.RRule(r)
	}
	set.RDate(start) // DTSTART is always the first instance
	for _, p := range rdates {
		ts, err := z.timeList(&p)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			set.RDate(t)
		}
	}
	for _, p := range c.Props.Values(ical.PropExceptionDates) {
		ts, err := z.timeList(&p)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			set.ExDate(t)
		}
	}
	skip := moved[text(c.Props.Get(ical.PropUID))]
	var out []Interval
	next := set.Iterator()
	for n := 0; n < maxOccurrences; n++ {
		t, ok := next()
		if !ok || !t.Before(to) {
			break
		}
		if skip[t.Unix()] {
			continue
		}
		out = append(out, one(t)...)
	}
	return out, nil
}

// timeList reads a comma-separated RDATE or EXDATE; a PERIOD gives its start.
func (z *zones) timeList(p *ical.Prop) ([]time.Time, error) {
	var out []time.Time
	for _, v := range strings.Split(p.Value, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if i := strings.IndexByte(v, '/'); i >= 0 {
			v = v[:i]
		}
		q := *p
		q.Value = v
		if strings.EqualFold(q.Params.Get(ical.ParamValue), "PERIOD") {
			q.Params = ical.Params{}
			for k, vs := range p.Params {
				if k != ical.ParamValue {
					q.Params[k] = vs
				}
			}
		}
		t, _, err := z.timeOf(&q)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// freeBusy reads the FREEBUSY periods of a VFREEBUSY.
func freeBusy(c *ical.Component, z *zones, from, to time.Time) ([]Interval, error) {
	var out []Interval
	for _, p := range c.Props.Values(ical.PropFreeBusy) {
		if strings.EqualFold(p.Params.Get("FBTYPE"), "FREE") {
			continue
		}
		for _, v := range strings.Split(p.Value, ",") {
			s, e, ok := strings.Cut(strings.TrimSpace(v), "/")
			if !ok {
				return nil, fmt.Errorf("FREEBUSY period %q has no end", v)
			}
			start, _, err := z.timeOf(&ical.Prop{Name: ical.PropFreeBusy, Params: ical.Params{}, Value: s})
			if err != nil {
				return nil, err
			}
			var end time.Time
			if strings.HasPrefix(e, "P") || strings.HasPrefix(e, "+P") {
				d, err := (&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: e}).Duration()
				if err != nil {
					return nil, fmt.Errorf("FREEBUSY period %q: %w", v, err)
				}
				end = start.Add(d)
			} else if end, _, err = z.timeOf(&ical.Prop{Name: ical.PropFreeBusy, Params: ical.Params{}, Value: e}); err != nil {
				return nil, err
			}
			if end.After(start) && start.Before(to) && end.After(from) {
				out = append(out, Interval{start, end})
			}
		}
	}
	return out, nil
}

// LoadBusy reads busy intervals in [from, to) from each source: a file path,
// or an http(s) URL (webcal:// is fetched as https://). A broken source gives
// an error naming it and is skipped; the others still count.
func LoadBusy(ctx context.Context, client *http.Client, sources []string, from, to time.Time) ([]Interval, []error) {
	if client == nil {
		client = http.DefaultClient
	}
	var busy []Interval
	var errs []error
	for _, src := range sources {
		ivs, err := loadOne(ctx, client, strings.TrimSpace(src), from, to)
		if err != nil {
			errs = append(errs, fmt.Errorf("busy source %s: %w", sourceName(src), err))
			continue
		}
		busy = append(busy, ivs...)
	}
	slices.SortFunc(busy, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	return busy, errs
}

func loadOne(ctx context.Context, client *http.Client, src string, from, to time.Time) ([]Interval, error) {
	if src == "" {
		return nil, errors.New("empty source")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lower := strings.ToLower(src)
	switch {
	case strings.HasPrefix(lower, "webcal://"):
		src = "https://" + src[len("webcal://"):]
	case strings.HasPrefix(lower, "webcals://"):
		src = "https://" + src[len("webcals://"):]
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(src)
		if err != nil {
			return nil, err
		}
		return loadFile(u.Path, from, to)
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
	default:
		return loadFile(src, from, to)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/calendar, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may carry a secret; sourceName names it
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return ParseBusy(resp.Body, from, to)
}

func loadFile(name string, from, to time.Time) ([]Interval, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseBusy(f, from, to)
}

// sourceName names a source in errors and logs without the secrets that
// private calendar URLs carry (user info, query, the middle of the path).
func sourceName(src string) string {
	u, err := url.Parse(strings.TrimSpace(src))
	if err != nil || u.Host == "" {
		return src
	}
	name := u.Scheme + "://" + u.Host
	p := strings.Trim(u.Path, "/")
	switch {
	case p == "":
	case !strings.Contains(p, "/"):
		name += "/" + p
	default:
		name += "/…/" + path.Base(p)
	}
	return name
}
