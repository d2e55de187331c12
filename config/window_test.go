package config

import (
	"slices"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"2m": 2 * time.Minute, "30s": 30 * time.Second, "24h": 24 * time.Hour, "1h30m": 90 * time.Minute,
		"7d": 7 * 24 * time.Hour, "14d": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0": 0, "0d": 0,
		" 2h ": 2 * time.Hour, "1d30m": 24*time.Hour + 30*time.Minute,
	}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7", "-1h", "-7d", "1w", "2 minutes", "7days", "1h1d", "99999999999d", "1.5d", "d7"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseDays(t *testing.T) {
	M, Tu, W, Th, F, Sa, Su := time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday
	good := map[string][]time.Weekday{
		"Mon-Fri":      {M, Tu, W, Th, F},
		"mon,wed,FRI":  {M, W, F},
		"Sat-Mon":      {Su, M, Sa},
		"Fri-Tue":      {Su, M, Tu, F, Sa},
		"daily":        {Su, M, Tu, W, Th, F, Sa},
		"weekends":     {Su, Sa},
		"Mon-Wed, Fri": {M, Tu, W, F},
		"Tuesday":      {Tu},
		"Mon,Mon":      {M},
		"Sun-Sun":      {Su},
	}
	for in, want := range good {
		if got, err := ParseDays(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseDays(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Mon-", "Funday", "Mon-Fri-Sat", "1-5", ","} {
		if got, err := ParseDays(in); err == nil {
			t.Errorf("ParseDays(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseHours(t *testing.T) {
	from, to, err := ParseHours("09:00-17:30")
	if err != nil || from != 9*time.Hour || to != 17*time.Hour+30*time.Minute {
		t.Errorf("ParseHours = %v, %v, %v", from, to, err)
	}
	if _, to, err := ParseHours("0:00-24:00"); err != nil || to != 24*time.Hour {
		t.Errorf("ParseHours(0:00-24:00) = %v, %v", to, err)
	}
	for _, in := range []string{"9-5", "09:00", "17:00-09:00", "09:00-09:00", "24:00-24:00", "09:60-10:00", "25:00-26:00", "24:30-", "+9:00-10:00", "09:+1-10:00"} {
		if _, _, err := ParseHours(in); err == nil {
			t.Errorf("ParseHours(%q) = nil error", in)
		}
	}
}

func TestParseWindow(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	w, err := ParseWindow("Mon-Fri 08:00-18:00", ny)
	if err != nil || len(w.Days) != 5 || w.From != 8*time.Hour || w.To != 18*time.Hour || w.Loc != ny {
		t.Fatalf("ParseWindow = %+v, %v", w, err)
	}
	if w.String() != "Mon,Tue,Wed,Thu,Fri 08:00-18:00" {
		t.Errorf("String() = %q", w.String())
	}
	for _, in := range []string{"always", "Always", "daily 09:00-12:00", "Sat-Sun", "08:00-18:00", "Mon - Fri 08:00 - 18:00", "every day 08:00-18:00"} {
		if _, err := ParseWindow(in, ny); err != nil {
			t.Errorf("ParseWindow(%q) = %v", in, err)
		}
	}
	for _, in := range []string{"", "never", "Mon-Fri 8-18", "Mon-Fri 18:00-08:00", "Mon-Fri 08:00-18:00 extra", "8am-6pm"} {
		if _, err := ParseWindow(in, ny); err == nil {
			t.Errorf("ParseWindow(%q) = nil error", in)
		}
	}
}

// US daylight saving time in 2026: spring forward Sunday 8 March (02:00 EST →
// 03:00 EDT), fall back Sunday 1 November (02:00 EDT → 01:00 EST).
func TestWindowAcrossUSDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	w, _ := ParseWindow("Mon-Fri 08:00-18:00", ny)

	// 12:30 UTC is 07:30 EST on Friday 6 March (closed) but 08:30 EDT on Monday 9 March (open).
	if w.Contains(utc("2026-03-06T12:30:00Z")) {
		t.Errorf("Contains(Fri 6 Mar 07:30 EST) = true")
	}
	if !w.Contains(utc("2026-03-09T12:30:00Z")) {
		t.Errorf("Contains(Mon 9 Mar 08:30 EDT) = false")
	}
	// After Friday's close the next opening is Monday 08:00 EDT = 12:00 UTC, not 13:00.
	if got, want := w.Next(utc("2026-03-06T23:30:00Z")), utc("2026-03-09T12:00:00Z"); !got.Equal(want) {
		t.Errorf("Next(Fri 6 Mar 18:30 EST) = %v, want %v", got, want)
	}
	// Fall back: Friday 30 Oct after close → Monday 2 Nov 08:00 EST = 13:00 UTC.
	if got, want := w.Next(utc("2026-10-30T22:30:00Z")), utc("2026-11-02T13:00:00Z"); !got.Equal(want) {
		t.Errorf("Next(Fri 30 Oct 18:30 EDT) = %v, want %v", got, want)
	}
	// On the change days themselves.
	sun, _ := ParseWindow("Sun 09:00-10:00", ny)
	if got, want := sun.Next(utc("2026-03-08T06:00:00Z")), utc("2026-03-08T13:00:00Z"); !got.Equal(want) {
		t.Errorf("Next on spring-forward Sunday = %v, want 09:00 EDT %v", got, want)
	}
	if got, want := sun.Next(utc("2026-11-01T05:00:00Z")), utc("2026-11-01T14:00:00Z"); !got.Equal(want) {
		t.Errorf("Next on fall-back Sunday = %v, want 09:00 EST %v", got, want)
	}
	// A whole day is 23 hours on 8 March and 25 on 1 November.
	all, _ := ParseWindow("Sun", ny)
	if !all.Contains(utc("2026-11-02T04:30:00Z")) { // 23:30 EST Sunday
		t.Errorf("whole Sunday 1 Nov does not contain 23:30 EST")
	}
	if all.Contains(utc("2026-03-09T04:30:00Z")) { // 00:30 EDT Monday
		t.Errorf("whole Sunday 8 Mar contains Monday 00:30 EDT")
	}
	// An opening inside the spring-forward gap (02:30 does not exist) still opens that day.
	gap, _ := ParseWindow("Sun 02:30-04:00", ny)
	n := gap.Next(utc("2026-03-08T05:00:00Z")) // 00:00 EST
	if !gap.Contains(n) || n.In(ny).Day() != 8 {
		t.Errorf("Next into the DST gap = %v, want a time inside the window on 8 March", n.In(ny))
	}
}

// TestWindowNextIsFirstOpening walks minute by minute through both 2026 US DST
// changes and checks that Next finds the first open instant.
func TestWindowNextIsFirstOpening(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, spec := range []string{"Mon-Fri 08:00-18:00", "Sat-Mon 01:00-03:00", "daily 00:00-02:30", "Sun 00:00-24:00"} {
		w, err := ParseWindow(spec, ny)
		if err != nil {
			t.Fatal(err)
		}
		for _, start := range []time.Time{
			time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC),
		} {
			for h := 0; h < 24*6; h += 5 {
				t0 := start.Add(time.Duration(h)*time.Hour + 7*time.Minute)
				n := w.Next(t0)
				if n.Before(t0) || !w.Contains(n) {
					t.Fatalf("%s: Next(%v) = %v, not inside or before", spec, t0.In(ny), n.In(ny))
				}
				for m := t0; m.Before(n); m = m.Add(time.Minute) {
					if w.Contains(m) {
						t.Fatalf("%s: Next(%v) = %v, but %v is already open", spec, t0.In(ny), n.In(ny), m.In(ny))
					}
				}
			}
		}
	}
}

func TestWindowEdges(t *testing.T) {
	w, _ := ParseWindow("Mon 00:00-24:00", time.UTC)
	mon := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // a Monday
	if !w.Contains(mon) || !w.Contains(mon.Add(24*time.Hour-time.Second)) || w.Contains(mon.Add(24*time.Hour)) {
		t.Errorf("Mon 00:00-24:00 edges wrong")
	}
	if got := w.Next(mon.Add(25 * time.Hour)); !got.Equal(mon.Add(7 * 24 * time.Hour)) {
		t.Errorf("Next(Tue) = %v, want next Monday", got)
	}
	if got := (Window{}).Next(mon); !got.IsZero() {
		t.Errorf("empty window Next = %v, want zero", got)
	}
	always, _ := ParseWindow("always", nil)
	if !always.Contains(mon.Add(123*time.Hour)) || !always.Next(mon).Equal(mon) {
		t.Errorf("always window is not always open")
	}
}
