package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInterviewChangeErrors: move, cancel and schedule name what is wrong
// and what to try, each with its own advice.
func TestInterviewChangeErrors(t *testing.T) {
	e := initEnv(t)
	for _, c := range []struct {
		want string
		args []string
	}{
		{`"x" is not an interview number`, []string{"interview", "cancel", "x"}},
		{"Try: coffeechat interviews", []string{"interview", "move", "0", "--to", "2026-12-08 14:00"}},
		{"Try: coffeechat interview move ID --to", []string{"interview", "move", "1", "--to", "someday"}},
		{"see `coffeechat interviews`", []string{"interview", "cancel", "7"}},
		{"Try: coffeechat asks --state agreed", []string{"interview", "schedule", "abc", "--at", "2026-12-08 14:00"}},
		{"Try: coffeechat interview schedule ASK --at", []string{"interview", "schedule", "1", "--at", "someday"}},
		{"Try: coffeechat queue", []string{"interview", "schedule", "5", "--at", "2026-12-08 14:00"}},
		{`"abc" is not an ask number`, []string{"timeline", "abc"}},
	} {
		e.fails(c.want, c.args...)
	}
}

// twoInterviews is an initialized env with two interviews scheduled:
// Priya on Mon 2 December 2030 and Tom on Wed 11 December 2030, 10:00.
func twoInterviews(t *testing.T) *env {
	e := initEnv(t)
	e.ok("contact", "add", "Priya Shah", "--email", "priya@example.com")
	e.ok("contact", "add", "Tom Baker", "--email", "tom@example.com")
	e.ok("ask", "interview", "--to", "priya")
	e.ok("ask", "interview", "--to", "tom")
	e.ok("interview", "schedule", "1", "--at", "2030-12-02 10:00")
	e.ok("interview", "schedule", "2", "--at", "2030-12-11 10:00")
	return e
}

// TestInterviewsColumnsLineUp: a two-digit day ("Dec 11") does not push the
// status column of its row out of line with a one-digit day's.
func TestInterviewsColumnsLineUp(t *testing.T) {
	e := twoInterviews(t)
	out := e.ok("interviews")
	var cols []int
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, "invited"); i >= 0 {
			cols = append(cols, len([]rune(line[:i])))
		}
	}
	if len(cols) != 2 || cols[0] != cols[1] {
		t.Errorf("status columns at %v, want two equal:\n%s", cols, out)
	}
	out = e.ok("status")
	cols = nil
	for _, line := range strings.Split(out, "\n") {
		for _, who := range []string{"Priya Shah (", "Tom Baker ("} {
			if i := strings.Index(line, who); i >= 0 {
				cols = append(cols, len([]rune(line[:i])))
			}
		}
	}
	if len(cols) != 2 || cols[0] != cols[1] {
		t.Errorf("status: names at %v, want two equal:\n%s", cols, out)
	}
}

// TestInterviewsHeaders: "Upcoming:" and "Past:" head their rows, and a
// heading with no rows under it is not printed.
func TestInterviewsHeaders(t *testing.T) {
	e := twoInterviews(t)
	clock := filepath.Join(t.TempDir(), "clock")
	e.vars[clockFileEnv] = clock
	at := func(day string) string {
		t.Helper()
		when, err := time.Parse(time.DateOnly, day)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(clock, []byte(time.Until(when).String()), 0o600)
		return e.ok("interviews")
	}
	for _, c := range []struct {
		day        string
		up, past   bool
		firstAfter string // the name on the first row after the first heading
	}{
		{"2030-11-01", true, false, "Priya"},
		{"2030-12-05", true, true, "Tom"},
		{"2031-01-10", false, true, "Tom"}, // the latest past first
	} {
		out := at(c.day)
		if got := strings.Contains(out, "Upcoming:"); got != c.up {
			t.Errorf("on %s: Upcoming heading printed = %v, want %v:\n%s", c.day, got, c.up, out)
		}
		if got := strings.Contains(out, "Past:"); got != c.past {
			t.Errorf("on %s: Past heading printed = %v, want %v:\n%s", c.day, got, c.past, out)
		}
		lines := strings.Split(out, "\n")
		if len(lines) < 2 || !strings.HasSuffix(lines[0], ":") || !strings.Contains(lines[1], c.firstAfter) {
			t.Errorf("on %s: want a heading, then %s's row:\n%s", c.day, c.firstAfter, out)
		}
	}
}
