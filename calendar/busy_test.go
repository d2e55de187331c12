package calendar

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ivStrings(ivs []Interval) []string {
	var out []string
	for _, iv := range ivs {
		out = append(out, iv.Start.UTC().Format(time.RFC3339)+"/"+iv.End.UTC().Format(time.RFC3339))
	}
	return out
}

func sameIntervals(t *testing.T, name string, got []Interval, want []string) {
	t.Helper()
	g := ivStrings(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s =\n  %s\nwant\n  %s", name, strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestParseBusyWeekly(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "busy_weekly.ics"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseBusy(f, utc("2026-03-02T00:00:00Z"), utc("2026-03-21T00:00:00Z"))
	if err != nil {
		t.Fatalf("ParseBusy: %v", err)
	}
	sameIntervals(t, "ParseBusy(busy_weekly.ics)", got, []string{
		"2026-03-02T18:00:00Z/2026-03-02T19:00:00Z", // Mon 10:00 PST
		"2026-03-04T18:00:00Z/2026-03-04T19:00:00Z", // Wed 10:00 PST
		"2026-03-09T17:00:00Z/2026-03-09T18:00:00Z", // Mon 10:00 PDT after the change
		// Wed 11 Mar excluded by EXDATE; the transparent and the cancelled events are free.
		"2026-03-13T19:00:00Z/2026-03-13T20:00:00Z", // RDATE Fri 12:00 PDT
		"2026-03-16T21:00:00Z/2026-03-16T22:00:00Z", // Mon 16 Mar moved to 14:00 by RECURRENCE-ID
		"2026-03-18T17:00:00Z/2026-03-18T18:00:00Z",
	})
}

func TestParseBusyOutlookWindowsZone(t *testing.T) {
	got, err := ParseBusy(strings.NewReader(string(readFixture(t, "busy_outlook.ics"))), utc("2026-09-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
	if err != nil {
		t.Fatalf("ParseBusy: %v", err)
	}
	sameIntervals(t, "ParseBusy(busy_outlook.ics)", got, []string{
		"2026-10-01T07:00:00Z/2026-10-01T07:30:00Z", // 09:00 CEST
		"2026-10-08T07:00:00Z/2026-10-08T07:30:00Z",
		// 15 Oct excluded
		"2026-10-22T07:00:00Z/2026-10-22T07:30:00Z",
		"2026-10-29T08:00:00Z/2026-10-29T08:30:00Z", // 09:00 CET after 25 Oct
		"2026-11-05T08:00:00Z/2026-11-05T08:30:00Z", // COUNT=6 ends here
	})
}

func TestParseBusyAllDay(t *testing.T) {
	got, err := ParseBusy(strings.NewReader(string(readFixture(t, "busy_allday.ics"))), utc("2026-12-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
	if err != nil {
		t.Fatalf("ParseBusy: %v", err)
	}
	sameIntervals(t, "ParseBusy(busy_allday.ics)", got, []string{
		"2026-12-03T05:00:00Z/2026-12-04T05:00:00Z", // the file's zone, America/New_York
		"2026-12-07T05:00:00Z/2026-12-09T05:00:00Z",
	})

	// Without X-WR-TIMEZONE an all-day date is a UTC day.
	in := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20261203\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	got, err = ParseBusy(strings.NewReader(in), utc("2026-12-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	sameIntervals(t, "ParseBusy(all-day, no zone)", got, []string{"2026-12-03T00:00:00Z/2026-12-04T00:00:00Z"})
}

func TestParseBusyRange(t *testing.T) {
	// Only what overlaps [from, to) counts; an event running into the range does.
	in := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" +
		"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261130T230000Z\r\nDTEND:20261201T010000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261130T200000Z\r\nDTEND:20261201T000000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20261231T000000Z\r\nDTEND:20261231T010000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20261101T090000Z\r\nDTEND:20261101T100000Z\r\nRRULE:FREQ=DAILY;UNTIL=20261202T090000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VFREEBUSY\r\nUID:fb\r\nDTSTAMP:20261101T000000Z\r\nFREEBUSY;FBTYPE=BUSY:20261210T100000Z/20261210T110000Z,20261211T100000Z/PT30M\r\nFREEBUSY;FBTYPE=FREE:20261212T100000Z/PT1H\r\nEND:VFREEBUSY\r\n" +
		"END:VCALENDAR\r\n"
	got, err := ParseBusy(strings.NewReader(in), utc("2026-12-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	sameIntervals(t, "ParseBusy(range)", got, []string{
		"2026-11-30T23:00:00Z/2026-12-01T01:00:00Z",
		"2026-12-01T09:00:00Z/2026-12-01T10:00:00Z",
		"2026-12-02T09:00:00Z/2026-12-02T10:00:00Z",
		"2026-12-10T10:00:00Z/2026-12-10T11:00:00Z",
		"2026-12-11T10:00:00Z/2026-12-11T10:30:00Z",
	})
}

func TestParseBusyBroken(t *testing.T) {
	for _, file := range []string{"broken_truncated.ics", "broken_garbage.ics", "broken_param.ics", "broken_tz.ics"} {
		if _, err := ParseBusy(strings.NewReader(string(readFixture(t, file))), utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")); err == nil {
			t.Errorf("ParseBusy(%s) gave no error", file)
		}
	}
	bad := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261201T090000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := ParseBusy(strings.NewReader(bad), utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")); err == nil || !strings.Contains(err.Error(), "RRULE") {
		t.Errorf("ParseBusy(bad RRULE) error = %v, want one naming RRULE", err)
	}
}

func TestLoadBusy(t *testing.T) {
	weekly := readFixture(t, "busy_weekly.ics")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cal/private-secret123/basic.ics":
			w.Header().Set("Content-Type", "text/calendar")
			w.Write(readFixture(t, "busy_allday.ics"))
		case "/broken.ics":
			w.Write([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	local := filepath.Join(dir, "work.ics")
	if err := os.WriteFile(local, weekly, 0o600); err != nil {
		t.Fatal(err)
	}
	sources := []string{
		local,
		srv.URL + "/cal/private-secret123/basic.ics",
		strings.Replace(srv.URL, "http://", "webcal://", 1) + "/nope.ics", // https on a plain server: fails
		srv.URL + "/broken.ics",
		srv.URL + "/missing.ics",
		filepath.Join(dir, "absent.ics"),
	}
	got, errs := LoadBusy(context.Background(), srv.Client(), sources, utc("2026-03-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
	if len(errs) != 4 {
		t.Fatalf("LoadBusy errors = %v, want 4", errs)
	}
	for i, name := range []string{"nope.ics", "broken.ics", "missing.ics", "absent.ics"} {
		if !strings.Contains(errs[i].Error(), name) {
			t.Errorf("error %q does not name its source %s", errs[i], name)
		}
		if strings.Contains(errs[i].Error(), "secret123") {
			t.Errorf("error %q shows the private URL", errs[i])
		}
	}
	var fromFile, fromHTTP bool
	for _, iv := range got {
		fromFile = fromFile || iv.Start.Equal(utc("2026-03-09T17:00:00Z"))
		fromHTTP = fromHTTP || iv.Start.Equal(utc("2026-12-03T05:00:00Z"))
	}
	if !fromFile || !fromHTTP {
		t.Errorf("LoadBusy = %v: file %v, http %v", ivStrings(got), fromFile, fromHTTP)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Start.Before(got[i-1].Start) {
			t.Errorf("LoadBusy result not in time order")
		}
	}

	// A cancelled context is reported per source, not hung on.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, errs := LoadBusy(ctx, srv.Client(), []string{srv.URL + "/cal/x/basic.ics"}, utc("2026-03-01T00:00:00Z"), utc("2026-12-31T00:00:00Z")); len(errs) != 1 {
		t.Errorf("LoadBusy(cancelled) errors = %v", errs)
	}
}

func TestSourceName(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@calendar.google.com/calendar/ical/x%40gmail.com/private-abc/basic.ics?token=s": "https://calendar.google.com/…/basic.ics",
		"https://example.com/cal.ics": "https://example.com/cal.ics",
		"/home/sam/busy.ics":          "/home/sam/busy.ics",
	} {
		if got := sourceName(in); got != want {
			t.Errorf("sourceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBusyOldRule(t *testing.T) {
	// A rule started decades ago still counts today, in phase.
	in := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" +
		"BEGIN:VEVENT\r\nUID:old\r\nDTSTART:19900101T120000Z\r\nDTEND:19900101T121500Z\r\nRRULE:FREQ=DAILY;INTERVAL=3\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:biweekly\r\nDTSTART;TZID=Europe/Berlin:20000103T090000\r\nDTEND;TZID=Europe/Berlin:20000103T100000\r\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	got, err := ParseBusy(strings.NewReader(in), utc("2026-12-01T00:00:00Z"), utc("2026-12-15T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	sameIntervals(t, "ParseBusy(old rules)", got, []string{
		"2026-12-03T12:00:00Z/2026-12-03T12:15:00Z",
		"2026-12-06T12:00:00Z/2026-12-06T12:15:00Z",
		"2026-12-09T12:00:00Z/2026-12-09T12:15:00Z",
		"2026-12-12T12:00:00Z/2026-12-12T12:15:00Z",
		"2026-12-14T08:00:00Z/2026-12-14T09:00:00Z", // every other Monday since 3 Jan 2000
	})
}
