package calendar

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

func TestFreeSlots(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	berlin := mustLoc(t, "Europe/Berlin")
	base := Availability{Days: weekdays, From: 9 * time.Hour, To: 17 * time.Hour, Slot: 30 * time.Minute,
		Propose: 3, MinNotice: 24 * time.Hour, Horizon: 14 * 24 * time.Hour, Loc: la}
	with := func(f func(*Availability)) Availability { av := base; f(&av); return av }

	tests := []struct {
		name string
		av   Availability
		now  time.Time
		busy []Interval
		want []string // RFC 3339 UTC starts
	}{
		{
			name: "spread over days",
			av:   base,
			now:  utc("2026-11-30T20:00:00Z"), // Mon 12:00 PST
			want: []string{"2026-12-01T20:00:00Z", "2026-12-02T17:00:00Z", "2026-12-03T17:00:00Z"},
		},
		{
			name: "US DST: proposed in early March for after 2026-03-08",
			av:   with(func(av *Availability) { av.MinNotice = 6 * 24 * time.Hour; av.Propose = 2 }),
			now:  utc("2026-03-02T20:00:00Z"), // Mon 12:00 PST; earliest Sun 8 Mar 12:00 PDT
			// Mon 9 Mar 09:00 PDT is 16:00 UTC (17:00 UTC before the change).
			want: []string{"2026-03-09T16:00:00Z", "2026-03-10T16:00:00Z"},
		},
		{
			name: "Europe DST: proposed in late October for after 2026-10-25",
			av: with(func(av *Availability) {
				av.Loc = berlin
				av.MinNotice = 4 * 24 * time.Hour
				av.Propose = 2
			}),
			now: utc("2026-10-21T10:00:00Z"), // Wed 12:00 CEST; earliest Sun 25 Oct
			// Mon 26 Oct 09:00 CET is 08:00 UTC (07:00 UTC the week before).
			want: []string{"2026-10-26T08:00:00Z", "2026-10-27T08:00:00Z"},
		},
		{
			name: "Europe before the change is still CEST",
			av:   with(func(av *Availability) { av.Loc = berlin; av.Propose = 1 }),
			now:  utc("2026-10-21T10:00:00Z"),
			want: []string{"2026-10-22T10:00:00Z"}, // Thu 12:00 CEST: 24h notice, aligned to :00/:30
		},
		{
			name: "min notice rounds up to the next aligned slot",
			av:   with(func(av *Availability) { av.MinNotice = 2 * time.Hour; av.Propose = 1 }),
			now:  utc("2026-12-01T17:10:00Z"), // Tue 09:10 PST; earliest 11:10
			want: []string{"2026-12-01T19:30:00Z"},
		},
		{
			name: "weekend skipped",
			av:   with(func(av *Availability) { av.Propose = 2 }),
			now:  utc("2026-12-05T01:00:00Z"), // Fri 17:00 PST; earliest Sat 17:00
			want: []string{"2026-12-07T17:00:00Z", "2026-12-08T17:00:00Z"},
		},
		{
			name: "horizon limits days, then fills",
			av:   with(func(av *Availability) { av.Horizon = 2 * 24 * time.Hour; av.Propose = 4 }),
			now:  utc("2026-11-30T20:00:00Z"), // Mon 12:00 PST; window ends Wed 12:00
			want: []string{"2026-12-01T20:00:00Z", "2026-12-01T20:30:00Z", "2026-12-02T17:00:00Z", "2026-12-02T17:30:00Z"},
		},
		{
			name: "horizon cuts a day short",
			av:   with(func(av *Availability) { av.Horizon = 48*time.Hour + 30*time.Minute; av.Propose = 2 }),
			now:  utc("2026-11-30T17:00:00Z"), // Mon 09:00; ends Wed 09:30
			want: []string{"2026-12-01T17:00:00Z", "2026-12-02T17:00:00Z"},
		},
		{
			name: "busy excluded",
			av:   with(func(av *Availability) { av.Propose = 2 }),
			now:  utc("2026-11-30T17:00:00Z"),
			busy: []Interval{
				{utc("2026-12-01T16:00:00Z"), utc("2026-12-01T18:15:00Z")}, // Tue 08:00–10:15
				{utc("2026-12-02T00:00:00Z"), utc("2026-12-03T08:00:00Z")}, // all of Wed
			},
			want: []string{"2026-12-01T18:30:00Z", "2026-12-03T17:00:00Z"},
		},
		{
			name: "touching busy end is free",
			av:   with(func(av *Availability) { av.Propose = 1 }),
			now:  utc("2026-11-30T17:00:00Z"),
			busy: []Interval{{utc("2026-12-01T16:00:00Z"), utc("2026-12-01T17:00:00Z")}},
			want: []string{"2026-12-01T17:00:00Z"},
		},
		{
			name: "hour slots align to the hour",
			av:   with(func(av *Availability) { av.Slot = time.Hour; av.From = 9*time.Hour + 15*time.Minute; av.Propose = 1 }),
			now:  utc("2026-11-30T17:00:00Z"),
			want: []string{"2026-12-01T18:00:00Z"},
		},
		{
			name: "45 minute slots align to :00/:30 and fit before To",
			av: with(func(av *Availability) {
				av.Slot = 45 * time.Minute
				av.From = 16 * time.Hour
				av.Propose = 3
				av.Horizon = 2 * 24 * time.Hour
			}),
			now:  utc("2026-11-30T17:00:00Z"),
			want: []string{"2026-12-02T00:00:00Z"}, // Tue 16:00; 16:30 would end 17:15
		},
		{
			name: "nothing free",
			av:   with(func(av *Availability) { av.Days = []time.Weekday{time.Sunday}; av.Horizon = 3 * 24 * time.Hour }),
			now:  utc("2026-11-30T17:00:00Z"),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FreeSlots(tt.av, tt.now, tt.busy)
			var starts []string
			for _, iv := range got {
				starts = append(starts, iv.Start.UTC().Format(time.RFC3339))
				if d := iv.End.Sub(iv.Start); d != tt.av.Slot {
					t.Errorf("slot %v lasts %v, want %v", iv.Start, d, tt.av.Slot)
				}
				if !Fits(tt.av, iv) {
					t.Errorf("slot %v does not fit the availability", iv.Start)
				}
				if Overlaps(tt.busy, iv) {
					t.Errorf("slot %v overlaps busy time", iv.Start)
				}
			}
			if len(starts) != len(tt.want) {
				t.Fatalf("FreeSlots = %v, want %v", starts, tt.want)
			}
			for i := range starts {
				if starts[i] != tt.want[i] {
					t.Fatalf("FreeSlots = %v, want %v", starts, tt.want)
				}
			}
		})
	}
}

func TestFits(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	av := Availability{Days: weekdays, From: 9 * time.Hour, To: 17 * time.Hour, Slot: 30 * time.Minute, Loc: la}
	tests := []struct {
		start, end string
		want       bool
	}{
		{"2026-12-01T17:00:00Z", "2026-12-01T17:30:00Z", true},  // Tue 09:00 PST
		{"2026-12-01T16:30:00Z", "2026-12-01T17:00:00Z", false}, // 08:30
		{"2026-12-02T00:30:00Z", "2026-12-02T01:00:00Z", true},  // Tue 16:30–17:00
		{"2026-12-02T00:45:00Z", "2026-12-02T01:15:00Z", false}, // runs past 17:00
		{"2026-12-05T18:00:00Z", "2026-12-05T18:30:00Z", false}, // Saturday
		{"2026-03-09T16:00:00Z", "2026-03-09T16:30:00Z", true},  // Mon 09:00 PDT after the change
		{"2026-03-06T16:00:00Z", "2026-03-06T16:30:00Z", false}, // Fri 08:00 PST before it
		{"2026-12-01T18:00:00Z", "2026-12-01T18:00:00Z", false}, // empty
	}
	for _, tt := range tests {
		iv := Interval{utc(tt.start), utc(tt.end)}
		if got := Fits(av, iv); got != tt.want {
			t.Errorf("Fits(%s–%s) = %v, want %v", tt.start, tt.end, got, tt.want)
		}
	}
}

func TestOverlaps(t *testing.T) {
	busy := []Interval{{utc("2026-12-01T10:00:00Z"), utc("2026-12-01T11:00:00Z")}}
	tests := []struct {
		start, end string
		want       bool
	}{
		{"2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", false},
		{"2026-12-01T09:30:00Z", "2026-12-01T10:01:00Z", true},
		{"2026-12-01T10:15:00Z", "2026-12-01T10:45:00Z", true},
		{"2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z", true},
		{"2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z", false},
	}
	for _, tt := range tests {
		if got := Overlaps(busy, Interval{utc(tt.start), utc(tt.end)}); got != tt.want {
			t.Errorf("Overlaps(%s–%s) = %v, want %v", tt.start, tt.end, got, tt.want)
		}
	}
}
