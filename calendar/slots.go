package calendar

import (
	"slices"
	"time"
)

// Interval is a span of time, Start inclusive, End exclusive.
type Interval struct{ Start, End time.Time }

// Overlap reports whether iv and o share any instant.
func (iv Interval) Overlap(o Interval) bool {
	return iv.Start.Before(o.End) && o.Start.Before(iv.End)
}

// Availability is when the user is willing to meet, in wall-clock terms.
type Availability struct {
	// Days are the weekdays offered; empty means every day.
	Days []time.Weekday
	// From and To are wall-clock offsets from local midnight (9h and 17h);
	// To zero means the end of the day.
	From, To time.Duration
	// Slot is the length of one proposed meeting.
	Slot time.Duration
	// Propose is how many slots FreeSlots returns.
	Propose int
	// MinNotice is the earliest a slot may start, counted from now.
	MinNotice time.Duration
	// Horizon is the latest a slot may end, counted from now.
	Horizon time.Duration
	// Loc is the zone the wall-clock hours are in; nil means UTC.
	Loc *time.Location
}

func (av Availability) loc() *time.Location {
	if av.Loc == nil {
		return time.UTC
	}
	return av.Loc
}

func (av Availability) dayOK(d time.Weekday) bool {
	return len(av.Days) == 0 || slices.Contains(av.Days, d)
}

func (av Availability) to() time.Duration {
	if av.To == 0 {
		return 24 * time.Hour
	}
	return av.To
}

// wall returns the instant at wall-clock offset off from midnight of the
// given civil date in loc. Offsets are added in wall-clock terms, so 9h is
// 09:00 on the day of a DST change too.
func wall(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	return time.Date(y, m, d, 0, 0, 0, int(off), loc)
}

// step is the alignment of slot starts: the slot length when it divides an
// hour, else half an hour.
func (av Availability) step() time.Duration {
	if av.Slot > 0 && av.Slot <= time.Hour && time.Hour%av.Slot == 0 {
		return av.Slot
	}
	return 30 * time.Minute
}

// FreeSlots proposes av.Propose slots of av.Slot length: on available days,
// inside From–To in av.Loc wall-clock (correct across DST changes), starting
// no earlier than now+MinNotice, ending no later than now+Horizon, overlapping
// no busy interval. Slots are spread over different days first (the earliest
// free slot of each day, then a second one per day, and so on), aligned to
// the slot length when it divides an hour, else to :00/:30. The result is in
// time order; it is shorter than Propose when not enough time is free.
func FreeSlots(av Availability, now time.Time, busy []Interval) []Interval {
	if av.Propose <= 0 || av.Slot <= 0 || av.to() <= av.From {
		return nil
	}
	loc := av.loc()
	earliest := now.Add(av.MinNotice)
	latest := now.Add(av.Horizon)
	if !earliest.Before(latest) {
		return nil
	}
	step := av.step()
	var days [][]Interval
	first := earliest.In(loc)
	y, m, d := first.Date()
	for day := 0; ; day++ {
		midnight := time.Date(y, m, d+day, 0, 0, 0, 0, loc)
		if !midnight.Before(latest) {
			break
		}
		if !av.dayOK(midnight.Weekday()) {
			continue
		}
		dy, dm, dd := midnight.Date()
		winEnd := wall(dy, dm, dd, av.to(), loc)
		var free []Interval
		// Candidate starts are multiples of step from midnight, wall clock.
		off := (av.From + step - 1) / step * step
		for ; off+av.Slot <= av.to(); off += step {
			start := wall(dy, dm, dd, off, loc)
			if h, mi, _ := start.Clock(); time.Duration(h)*time.Hour+time.Duration(mi)*time.Minute != off.Truncate(time.Minute) {
				continue // a wall-clock time skipped by a DST change
			}
			iv := Interval{start, start.Add(av.Slot)}
			if iv.End.After(winEnd) || iv.Start.Before(earliest) || iv.End.After(latest) || Overlaps(busy, iv) {
				continue
			}
			free = append(free, iv)
		}
		if len(free) > 0 {
			days = append(days, free)
		}
	}
	var out []Interval
	for round := 0; len(out) < av.Propose; round++ {
		took := false
		for _, free := range days {
			if round < len(free) && len(out) < av.Propose {
				out = append(out, free[round])
				took = true
			}
		}
		if !took {
			break
		}
	}
	slices.SortFunc(out, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	return out
}

// Fits reports whether iv lies inside the availability window of one
// available day, in av.Loc wall-clock. MinNotice and Horizon are not checked.
func Fits(av Availability, iv Interval) bool {
	if !iv.Start.Before(iv.End) {
		return false
	}
	loc := av.loc()
	s := iv.Start.In(loc)
	if !av.dayOK(s.Weekday()) {
		return false
	}
	y, m, d := s.Date()
	return !iv.Start.Before(wall(y, m, d, av.From, loc)) && !iv.End.After(wall(y, m, d, av.to(), loc))
}

// Overlaps reports whether iv overlaps any of the busy intervals. Touching
// ends (one ends when the other starts) do not overlap.
func Overlaps(busy []Interval, iv Interval) bool {
	for _, b := range busy {
		if b.Overlap(iv) {
			return true
		}
	}
	return false
}
