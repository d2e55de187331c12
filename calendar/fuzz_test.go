package calendar

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.ics"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ev := sampleEvent()
	for _, build := range []func(Event) ([]byte, error){Request, Cancel, Publish} {
		b, err := build(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := Parse(data)
		if err != nil {
			return
		}
		// What parses must survive being written again as the user's copy.
		for _, ev := range msg.Events {
			if ev.Start.IsZero() || !ev.End.After(ev.Start) || ev.Organizer.Email == "" {
				continue
			}
			ev.Status = StatusConfirmed
			if b, err := Publish(ev); err == nil {
				if _, err := Parse(b); err != nil {
					t.Fatalf("Parse(Publish(%+v)): %v\n%s", ev, err, b)
				}
			}
		}
	})
}

func FuzzParseBusy(f *testing.F) {
	addSeeds(f)
	from, to := utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, data []byte) {
		ivs, err := ParseBusy(bytes.NewReader(data), from, to)
		if err != nil {
			return
		}
		for _, iv := range ivs {
			if !iv.End.After(iv.Start) || !iv.Start.Before(to) || !iv.End.After(from) {
				t.Fatalf("ParseBusy gave %v–%v outside [%v, %v) or empty", iv.Start, iv.End, from, to)
			}
		}
	})
}
